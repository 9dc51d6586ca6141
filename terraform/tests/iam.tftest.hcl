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

run "chunk_job_may_submit_only_processor_and_report_jobs_to_the_queue" {
  command = plan

  assert {
    condition = toset(one([
      for statement in jsondecode(aws_iam_role_policy.job["chunk"].policy).Statement : statement.Resource
      if contains(statement.Action, "batch:SubmitJob")
      ])) == toset([
      "arn:aws:batch:eu-west-1:123456789012:job-queue/mass-ingest",
      "arn:aws:batch:eu-west-1:123456789012:job-definition/mass-ingest-processor:*",
      "arn:aws:batch:eu-west-1:123456789012:job-definition/mass-ingest-report:*",
    ])
    error_message = "The chunk job may submit only to the queue, only the processor and report definitions (any revision)."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.job["chunk"].policy).Statement : statement
      if statement.Resource == ["*"]
    ]).Action == ["batch:ListJobs"]
    error_message = "Only ListJobs (no resource-level permissions; the code calls no DescribeJobs) may use Resource \"*\"."
  }

  # Exactly what src/batch/batch-client.ts calls (SubmitJob, ListJobs) and the inventory read.
  assert {
    condition = toset(flatten([
      for statement in jsondecode(aws_iam_role_policy.job["chunk"].policy).Statement : statement.Action
    ])) == toset(["batch:SubmitJob", "batch:ListJobs", "s3:GetObject"])
    error_message = "The chunk job may only submit jobs, find them by name and read the inventory."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.job["chunk"].policy).Statement : statement.Resource
      if contains(statement.Action, "s3:GetObject")
    ]) == ["arn:aws:s3:::inventory-bucket/inventories/repos.csv"]
    error_message = "The chunk job may read the inventory object and nothing else on S3."
  }

  assert {
    condition = alltrue([
      for statement in jsondecode(aws_iam_role_policy.job["chunk"].policy).Statement :
      !contains(statement.Action, "s3:PutObject") && !contains(statement.Action, "iam:PassRole")
    ])
    error_message = "The chunk job may not write to S3 or pass roles."
  }
}

run "processor_job_may_write_only_under_the_artifact_prefix" {
  command = plan

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.job["processor"].policy).Statement : statement.Resource
      if contains(statement.Action, "s3:PutObject")
    ]) == ["arn:aws:s3:::artifact-bucket/mass-ingest/*"]
    error_message = "The processor may write only under the artifact prefix."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.job["processor"].policy).Statement : statement
      if contains(statement.Action, "s3:ListBucket")
      ]) == {
      Sid       = "ListArtifacts"
      Effect    = "Allow"
      Action    = ["s3:ListBucket"]
      Resource  = ["arn:aws:s3:::artifact-bucket"]
      Condition = { StringLike = { "s3:prefix" = ["mass-ingest/*"] } }
    }
    error_message = "The processor may list the artifact bucket only under the prefix."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.job["processor"].policy).Statement : statement.Resource
      if statement.Sid == "ReadInventory"
    ]) == ["arn:aws:s3:::inventory-bucket/inventories/repos.csv"]
    error_message = "The processor may read the inventory object."
  }

  assert {
    condition     = alltrue([for statement in jsondecode(aws_iam_role_policy.job["processor"].policy).Statement : alltrue([for action in statement.Action : startswith(action, "s3:")])])
    error_message = "The processor may do nothing but read the inventory and publish."
  }
}

run "report_job_may_only_write_under_runs" {
  command = plan

  # `report --publish` makes two PutObject calls under _runs/<run id>/ and reads nothing.
  assert {
    condition = jsondecode(aws_iam_role_policy.job["report"].policy).Statement == [{
      Sid      = "PublishReports"
      Effect   = "Allow"
      Action   = ["s3:PutObject"]
      Resource = ["arn:aws:s3:::artifact-bucket/mass-ingest/_runs/*"]
    }]
    error_message = "The report may only put objects under <prefix>/_runs/: no reading or listing the artifacts."
  }
}

run "sse_kms_bucket_keys_are_usable_only_through_s3_and_only_as_each_job_needs" {
  command = plan

  variables {
    s3_kms_key_arns = ["arn:aws:kms:eu-west-1:123456789012:key/0b6a2f7e-1111-2222-3333-444455556666"]
  }

  assert {
    condition = {
      for job in ["chunk", "processor", "report"] : job => one([
        for statement in jsondecode(aws_iam_role_policy.job[job].policy).Statement : statement
        if statement.Sid == "UseBucketKeysThroughS3"
      ])
      } == {
      chunk = {
        Sid       = "UseBucketKeysThroughS3"
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = ["arn:aws:kms:eu-west-1:123456789012:key/0b6a2f7e-1111-2222-3333-444455556666"]
        Condition = { StringLike = { "kms:ViaService" = "s3.*.amazonaws.com" } }
      }
      processor = {
        Sid       = "UseBucketKeysThroughS3"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = ["arn:aws:kms:eu-west-1:123456789012:key/0b6a2f7e-1111-2222-3333-444455556666"]
        Condition = { StringLike = { "kms:ViaService" = "s3.*.amazonaws.com" } }
      }
      report = {
        Sid       = "UseBucketKeysThroughS3"
        Effect    = "Allow"
        Action    = ["kms:GenerateDataKey"]
        Resource  = ["arn:aws:kms:eu-west-1:123456789012:key/0b6a2f7e-1111-2222-3333-444455556666"]
        Condition = { StringLike = { "kms:ViaService" = "s3.*.amazonaws.com" } }
      }
    }
    error_message = "With SSE-KMS buckets the chunk job may decrypt, the processor decrypt and generate data keys, the report generate data keys: only through S3."
  }

  assert {
    condition     = !strcontains(aws_iam_role_policy.execution.policy, "0b6a2f7e")
    error_message = "Bucket keys are for the jobs' code, not the execution role."
  }
}

run "no_kms_permission_without_bucket_keys" {
  command = plan

  assert {
    condition     = alltrue([for policy in aws_iam_role_policy.job : !strcontains(policy.policy, "kms:")])
    error_message = "Without s3_kms_key_arns no job may use KMS."
  }
}

run "extra_inventories_are_readable_by_chunk_and_processor_only" {
  command = plan

  variables {
    extra_inventory_uris = ["s3://inventory-bucket/reruns/*"]
  }

  assert {
    condition = alltrue([
      for job in ["chunk", "processor"] : toset(one([
        for statement in jsondecode(aws_iam_role_policy.job[job].policy).Statement : statement.Resource
        if statement.Sid == "ReadInventory"
        ])) == toset([
        "arn:aws:s3:::inventory-bucket/inventories/repos.csv",
        "arn:aws:s3:::inventory-bucket/reruns/*",
      ])
    ])
    error_message = "The chunk and processor jobs may read the inventory and the extra inventories, nothing more."
  }

  assert {
    condition     = !strcontains(aws_iam_role_policy.job["report"].policy, "inventory-bucket")
    error_message = "The report job never reads inventories."
  }
}

run "http_publishing_and_inventory_grant_no_s3" {
  command = plan

  variables {
    inventory_uri = "https://example.com/repos.csv"
    publish_url   = "https://repo.example.com/artifactory/mass-ingest"
  }

  assert {
    condition     = !contains(keys(aws_iam_role_policy.job), "processor") && !contains(keys(aws_iam_role_policy.job), "report")
    error_message = "With nothing on S3 the processor and report jobs need no policy at all."
  }

  assert {
    condition = alltrue([
      for statement in jsondecode(aws_iam_role_policy.job["chunk"].policy).Statement : alltrue([for action in statement.Action : startswith(action, "batch:")])
    ])
    error_message = "With nothing on S3 the chunk job may only submit and follow jobs."
  }
}

run "execution_role_reads_exactly_the_given_secrets" {
  command = plan

  variables {
    git_credentials_secret_arn  = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/git-credentials-AbCdEf"
    publish_token_secret_arn    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/publish-AbCdEf:token::"
    publish_password_secret_arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/mass-ingest/publish-password"
    publish_user                = "ingest"
  }

  assert {
    condition = toset(one([
      for statement in jsondecode(aws_iam_role_policy.execution.policy).Statement : statement.Resource
      if statement.Action == ["secretsmanager:GetSecretValue"]
      ])) == toset([
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/database-url-AbCdEf",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/git-credentials-AbCdEf",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/publish-AbCdEf",
    ])
    error_message = "The execution role may read exactly the given Secrets Manager secrets (a JSON-key suffix stripped)."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.execution.policy).Statement : statement.Resource
      if statement.Action == ["ssm:GetParameters"]
    ]) == ["arn:aws:ssm:eu-west-1:123456789012:parameter/mass-ingest/publish-password"]
    error_message = "The execution role may read exactly the given SSM parameters."
  }

  assert {
    condition     = !strcontains(aws_iam_role_policy.execution.policy, "kms:")
    error_message = "Without secrets_kms_key_arn the execution role gets no KMS permission."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.execution.policy).Statement : statement.Resource
      if statement.Sid == "WriteJobLogs"
    ]) == ["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/batch/mass-ingest:*"]
    error_message = "The execution role may write logs only to the jobs' log group."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.execution.policy).Statement : statement.Resource
      if statement.Sid == "PullImage"
    ]) == ["arn:aws:ecr:eu-west-1:123456789012:repository/mass-ingest"]
    error_message = "The execution role may pull only the image's ECR repository."
  }
}

run "execution_role_decrypts_only_with_the_given_kms_key" {
  command = plan

  variables {
    secrets_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.execution.policy).Statement : statement
      if statement.Sid == "DecryptSecrets"
      ]) == {
      Sid      = "DecryptSecrets"
      Effect   = "Allow"
      Action   = ["kms:Decrypt"]
      Resource = ["arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
    }
    error_message = "With secrets_kms_key_arn the execution role may kms:Decrypt with that key only."
  }
}

run "execution_role_needs_no_ecr_for_a_public_image" {
  command = plan

  variables {
    image = "ghcr.io/example/mass-ingest:0.1.0"
  }

  assert {
    condition     = !strcontains(aws_iam_role_policy.execution.policy, "ecr:")
    error_message = "An image outside ECR needs no ECR permission."
  }
}

run "scheduler_role_may_submit_only_the_chunk_job" {
  command = plan

  assert {
    condition = toset(one([
      for statement in jsondecode(aws_iam_role_policy.scheduler.policy).Statement : statement.Resource
      if statement.Action == ["batch:SubmitJob"]
      ])) == toset([
      "arn:aws:batch:eu-west-1:123456789012:job-queue/mass-ingest",
      "arn:aws:batch:eu-west-1:123456789012:job-definition/mass-ingest-chunk:*",
    ])
    error_message = "The scheduler may submit only the chunk job definition to the queue."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.scheduler.policy).Statement : statement.Resource
      if statement.Action == ["sqs:SendMessage"]
    ]) == ["arn:aws:sqs:eu-west-1:123456789012:mass-ingest-schedule-dlq"]
    error_message = "The scheduler may send only to its dead-letter queue."
  }
}

run "roles_trust_only_their_services" {
  command = plan

  variables {
    compute_type = "EC2"
  }

  assert {
    condition = alltrue([
      for role in concat([aws_iam_role.execution], values(aws_iam_role.job)) :
      jsondecode(role.assume_role_policy).Statement[0].Principal == { Service = "ecs-tasks.amazonaws.com" }
    ])
    error_message = "Execution and job roles must be assumable by ECS tasks only."
  }

  assert {
    condition = jsondecode(aws_iam_role.scheduler.assume_role_policy).Statement[0] == {
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
    }
    error_message = "The scheduler role must be assumable by EventBridge Scheduler of this account only."
  }

  assert {
    condition     = jsondecode(aws_iam_role.batch_instance[0].assume_role_policy).Statement[0].Principal == { Service = "ec2.amazonaws.com" }
    error_message = "The instance role must be assumable by EC2."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.batch_instance[0].policy_arn == "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
    error_message = "The instance role must carry the ECS instance policy."
  }
}
