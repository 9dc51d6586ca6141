mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  region                  = "eu-west-1"
  vpc_id                  = "vpc-0123456789abcdef0"
  subnet_ids              = ["subnet-0123456789abcdef0"]
  image                   = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mass-ingest:0.1.0"
  inventory_uri           = "s3://inventory-bucket/inventories/repos.csv"
  publish_url             = "s3://artifact-bucket/mass-ingest"
  database_url_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/database-url-AbCdEf"
}

run "schedule_submits_the_chunk_job_nightly_by_default" {
  command = plan

  assert {
    condition     = aws_scheduler_schedule.chunk.schedule_expression == "cron(0 2 * * ? *)" && aws_scheduler_schedule.chunk.schedule_expression_timezone == "UTC"
    error_message = "The default schedule must be 02:00 UTC every day."
  }

  assert {
    condition     = aws_scheduler_schedule.chunk.state == "ENABLED"
    error_message = "The schedule must be enabled by default."
  }

  assert {
    condition     = aws_scheduler_schedule.chunk.target[0].arn == "arn:aws:scheduler:::aws-sdk:batch:submitJob"
    error_message = "The schedule must call batch:SubmitJob through the universal target."
  }

  assert {
    condition = jsondecode(aws_scheduler_schedule.chunk.target[0].input) == {
      JobName       = "mass-ingest-scheduled"
      JobQueue      = "mass-ingest"
      JobDefinition = "mass-ingest-chunk"
      ContainerOverrides = {
        Command = [
          "chunk", "s3://inventory-bucket/inventories/repos.csv", "--partition-size", "50", "--mode", "array",
          "--trigger", "schedule",
        ]
      }
    }
    error_message = "The schedule must submit the chunk definition (latest revision, by name) to the queue, recorded as a scheduled run."
  }

  assert {
    condition     = aws_scheduler_schedule.chunk.target[0].role_arn == "arn:aws:iam::123456789012:role/mass-ingest-scheduler"
    error_message = "The schedule must use the scheduler role."
  }
}

run "failed_submissions_are_retried_then_dead_lettered" {
  command = plan

  variables {
    schedule_retry_attempts = 5
  }

  assert {
    condition     = aws_scheduler_schedule.chunk.target[0].retry_policy[0].maximum_retry_attempts == 5
    error_message = "Retries must come from schedule_retry_attempts."
  }

  assert {
    condition     = aws_scheduler_schedule.chunk.target[0].dead_letter_config[0].arn == "arn:aws:sqs:eu-west-1:123456789012:mass-ingest-schedule-dlq"
    error_message = "Failed submissions must go to the dead-letter queue."
  }

  assert {
    condition     = aws_sqs_queue.schedule_dead_letter.message_retention_seconds == 1209600 && aws_sqs_queue.schedule_dead_letter.sqs_managed_sse_enabled
    error_message = "The dead-letter queue must keep messages 14 days, encrypted."
  }
}

run "schedule_expression_time_zone_and_state_come_from_variables" {
  command = plan

  variables {
    schedule_expression = "rate(12 hours)"
    schedule_timezone   = "Europe/Berlin"
    schedule_enabled    = false
  }

  assert {
    condition     = aws_scheduler_schedule.chunk.schedule_expression == "rate(12 hours)" && aws_scheduler_schedule.chunk.schedule_expression_timezone == "Europe/Berlin"
    error_message = "Expression and time zone must come from the variables."
  }

  assert {
    condition     = aws_scheduler_schedule.chunk.state == "DISABLED"
    error_message = "schedule_enabled = false must disable the schedule and keep the rest."
  }
}

run "outputs_name_the_queue_the_definitions_and_a_manual_run" {
  command = plan

  assert {
    condition     = output.submit_job_command == "aws batch submit-job --region eu-west-1 --job-name mass-ingest-manual --job-queue mass-ingest --job-definition mass-ingest-chunk"
    error_message = "submit_job_command must be a ready aws batch submit-job of the chunk job."
  }

  assert {
    condition     = output.job_queue_name == "mass-ingest" && output.job_queue_arn == "arn:aws:batch:eu-west-1:123456789012:job-queue/mass-ingest"
    error_message = "The queue's name and ARN must be outputs."
  }

  assert {
    condition     = [output.chunk_job_definition_name, output.processor_job_definition_name, output.report_job_definition_name] == ["mass-ingest-chunk", "mass-ingest-processor", "mass-ingest-report"]
    error_message = "The job definitions' names must be outputs."
  }

  assert {
    condition     = output.processor_job_definition_arn == "arn:aws:batch:eu-west-1:123456789012:job-definition/mass-ingest-processor:1"
    error_message = "The job definitions' ARNs must be outputs."
  }

  assert {
    condition     = output.log_group_name == "/aws/batch/mass-ingest"
    error_message = "The log group must be an output."
  }
}
