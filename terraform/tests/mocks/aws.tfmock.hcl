# Shared by every tests/*.tftest.hcl (mock_provider "aws" { source = "./tests/mocks" }).
# The runs plan only, so the tests set `override_during = plan`; these overrides give the
# computed values the assertions read distinct, ARN-shaped values (random strings would not
# parse as ARNs, and equal ones would hide a swapped role).

mock_data "aws_partition" {
  defaults = {
    partition          = "aws"
    dns_suffix         = "amazonaws.com"
    reverse_dns_prefix = "com.amazonaws"
  }
}

override_resource {
  target = aws_batch_job_queue.this
  values = {
    arn = "arn:aws:batch:eu-west-1:123456789012:job-queue/mass-ingest"
  }
}

override_resource {
  target = aws_batch_compute_environment.this
  values = {
    arn = "arn:aws:batch:eu-west-1:123456789012:compute-environment/mass-ingest-spot-20250101000000000000000001"
  }
}

override_resource {
  target = aws_batch_job_definition.this["chunk"]
  values = {
    arn        = "arn:aws:batch:eu-west-1:123456789012:job-definition/mass-ingest-chunk:1"
    arn_prefix = "arn:aws:batch:eu-west-1:123456789012:job-definition/mass-ingest-chunk"
    revision   = 1
  }
}

override_resource {
  target = aws_batch_job_definition.this["processor"]
  values = {
    arn        = "arn:aws:batch:eu-west-1:123456789012:job-definition/mass-ingest-processor:1"
    arn_prefix = "arn:aws:batch:eu-west-1:123456789012:job-definition/mass-ingest-processor"
    revision   = 1
  }
}

override_resource {
  target = aws_batch_job_definition.this["report"]
  values = {
    arn        = "arn:aws:batch:eu-west-1:123456789012:job-definition/mass-ingest-report:1"
    arn_prefix = "arn:aws:batch:eu-west-1:123456789012:job-definition/mass-ingest-report"
    revision   = 1
  }
}

override_resource {
  target = aws_iam_role.execution
  values = {
    arn = "arn:aws:iam::123456789012:role/mass-ingest-execution"
  }
}

override_resource {
  target = aws_iam_role.job["chunk"]
  values = {
    arn = "arn:aws:iam::123456789012:role/mass-ingest-chunk-job"
  }
}

override_resource {
  target = aws_iam_role.job["processor"]
  values = {
    arn = "arn:aws:iam::123456789012:role/mass-ingest-processor-job"
  }
}

override_resource {
  target = aws_iam_role.job["report"]
  values = {
    arn = "arn:aws:iam::123456789012:role/mass-ingest-report-job"
  }
}

override_resource {
  target = aws_iam_role.scheduler
  values = {
    arn = "arn:aws:iam::123456789012:role/mass-ingest-scheduler"
  }
}

override_resource {
  target = aws_iam_role.batch_instance
  values = {
    arn = "arn:aws:iam::123456789012:role/mass-ingest-batch-instance"
  }
}

override_resource {
  target = aws_iam_instance_profile.batch
  values = {
    arn = "arn:aws:iam::123456789012:instance-profile/mass-ingest-batch-instance"
  }
}

override_resource {
  target = aws_cloudwatch_log_group.jobs
  values = {
    arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/batch/mass-ingest"
  }
}

override_resource {
  target = aws_sqs_queue.schedule_dead_letter
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:mass-ingest-schedule-dlq"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/mass-ingest-schedule-dlq"
  }
}

override_resource {
  target = aws_security_group.batch
  values = {
    id      = "sg-0123456789abcdef0"
    ingress = []
  }
}
