################################################################################
# Policy building blocks
################################################################################

locals {
  ecs_tasks_trust_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  # A Secrets Manager valueFrom may end in :json-key:version-stage:version-id; IAM wants the secret's own ARN.
  secretsmanager_arns = distinct([
    for arn in values(local.secret_arns) : join(":", slice(split(":", arn), 0, 7))
    if split(":", arn)[2] == "secretsmanager"
  ])
  ssm_parameter_arns = [for arn in values(local.secret_arns) : arn if split(":", arn)[2] == "ssm"]

  ecr_image = try(regex("^(?P<account>[0-9]{12})\\.dkr\\.ecr\\.(?P<region>[a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?/(?P<repository>[^:@]+)", var.image), null)

  # s3://bucket/key → arn:…:s3:::bucket/key; http(s) inventories need no permission.
  inventory_object_arns = [
    for uri in concat([var.inventory_uri], var.extra_inventory_uris) : "arn:${local.partition}:s3:::${trimprefix(uri, "s3://")}"
    if startswith(uri, "s3://")
  ]
  publish_bucket_arn = local.publish_s3 == null ? null : "arn:${local.partition}:s3:::${local.publish_s3.bucket}"
}

################################################################################
# Instance role (EC2 and SPOT)
################################################################################

resource "aws_iam_role" "batch_instance" {
  count = local.uses_instances ? 1 : 0

  name        = "${var.name}-batch-instance"
  description = "ECS agent on the mass-ingest Batch instances (the jobs use their own job roles)"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "batch_instance" {
  count = local.uses_instances ? 1 : 0

  role       = aws_iam_role.batch_instance[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
}

resource "aws_iam_instance_profile" "batch" {
  count = local.uses_instances ? 1 : 0

  name = "${var.name}-batch-instance"
  role = aws_iam_role.batch_instance[0].name
}

################################################################################
# Execution role (pull the image, read the secrets, write the logs)
################################################################################

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  description        = "ECS starting mass-ingest jobs: pull the image, inject the secrets, write the logs"
  assume_role_policy = local.ecs_tasks_trust_policy
}

resource "aws_iam_role_policy" "execution" {
  name = "start-jobs"
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [{
        Sid      = "WriteJobLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.jobs.arn}:*"]
      }],
      local.ecr_image == null ? [] : [
        {
          Sid      = "AuthenticateToEcr"
          Effect   = "Allow"
          Action   = ["ecr:GetAuthorizationToken"]
          Resource = ["*"]
        },
        {
          Sid      = "PullImage"
          Effect   = "Allow"
          Action   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
          Resource = ["arn:${local.partition}:ecr:${local.ecr_image.region}:${local.ecr_image.account}:repository/${local.ecr_image.repository}"]
        },
      ],
      length(local.secretsmanager_arns) == 0 ? [] : [{
        Sid      = "ReadSecrets"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = local.secretsmanager_arns
      }],
      length(local.ssm_parameter_arns) == 0 ? [] : [{
        Sid      = "ReadParameters"
        Effect   = "Allow"
        Action   = ["ssm:GetParameters"]
        Resource = local.ssm_parameter_arns
      }],
      var.secrets_kms_key_arn == null ? [] : [{
        Sid      = "DecryptSecrets"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.secrets_kms_key_arn]
      }],
    )
  })
}

################################################################################
# Job roles (what the code in each job may do)
################################################################################

locals {
  read_inventory_statements = length(local.inventory_object_arns) == 0 ? [] : [{
    Sid      = "ReadInventory"
    Effect   = "Allow"
    Action   = ["s3:GetObject"]
    Resource = local.inventory_object_arns
  }]

  # ListBucket lets the code tell a missing manifest from a forbidden one, under the prefix only.
  list_artifacts_statements = local.publish_s3 == null ? [] : [{
    Sid       = "ListArtifacts"
    Effect    = "Allow"
    Action    = ["s3:ListBucket"]
    Resource  = [local.publish_bucket_arn]
    Condition = { StringLike = { "s3:prefix" = ["${local.publish_s3.prefix}/*"] } }
  }]

  # SSE-KMS buckets: S3 decrypts (GetObject, multipart uploads) and generates data keys (PutObject)
  # with the caller's permissions, so a job may use the keys, but only through S3.
  s3_kms_statement = {
    for job, actions in {
      chunk     = length(local.inventory_object_arns) > 0 ? ["kms:Decrypt"] : []
      processor = length(local.inventory_object_arns) > 0 || local.publish_s3 != null ? ["kms:Decrypt", "kms:GenerateDataKey"] : []
      report    = local.publish_s3 != null ? ["kms:GenerateDataKey"] : []
      } : job => length(actions) == 0 || length(var.s3_kms_key_arns) == 0 ? [] : [{
        Sid       = "UseBucketKeysThroughS3"
        Effect    = "Allow"
        Action    = actions
        Resource  = var.s3_kms_key_arns
        Condition = { StringLike = { "kms:ViaService" = "s3.*.amazonaws.com" } }
    }]
  }

  job_policy_statements = {
    chunk = concat(
      [
        {
          Sid    = "SubmitPartitionsAndReport"
          Effect = "Allow"
          Action = ["batch:SubmitJob"]
          # Every revision: the code submits by name, which means the latest active one.
          Resource = [
            aws_batch_job_queue.this.arn,
            "${aws_batch_job_definition.this["processor"].arn_prefix}:*",
            "${aws_batch_job_definition.this["report"].arn_prefix}:*",
          ]
        },
        {
          # A retried chunk job finds the jobs it already submitted by name (src/batch/batch-client.ts).
          Sid      = "FindSubmittedJobs"
          Effect   = "Allow"
          Action   = ["batch:ListJobs"]
          Resource = ["*"] # ListJobs supports no resource-level permissions
        },
      ],
      local.read_inventory_statements,
      local.s3_kms_statement.chunk,
    )

    processor = concat(
      local.read_inventory_statements,
      local.list_artifacts_statements,
      local.publish_s3 == null ? [] : [{
        Sid      = "PublishArtifacts"
        Effect   = "Allow"
        Action   = ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]
        Resource = ["${local.publish_bucket_arn}/${local.publish_s3.prefix}/*"]
      }],
      local.s3_kms_statement.processor,
    )

    # `report --publish` only writes _runs/<run id>/report.html and summary.json, each one
    # PutObject (src/report/publish-report.ts): it reads and lists nothing.
    report = concat(
      local.publish_s3 == null ? [] : [{
        Sid      = "PublishReports"
        Effect   = "Allow"
        Action   = ["s3:PutObject"]
        Resource = ["${local.publish_bucket_arn}/${local.publish_s3.prefix}/_runs/*"]
      }],
      local.s3_kms_statement.report,
    )
  }
}

resource "aws_iam_role" "job" {
  for_each = local.job_definition_names

  name               = "${var.name}-${each.key}-job"
  description        = "What the mass-ingest ${each.key} job's code may do"
  assume_role_policy = local.ecs_tasks_trust_policy
}

resource "aws_iam_role_policy" "job" {
  # A job with nothing to do in AWS (e.g. publishing over HTTP) gets no policy at all.
  for_each = { for job, statements in local.job_policy_statements : job => statements if length(statements) > 0 }

  name = "${each.key}-job"
  role = aws_iam_role.job[each.key].id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = each.value
  })
}

################################################################################
# Scheduler role (submit the chunk job, dead-letter failures)
################################################################################

resource "aws_iam_role" "scheduler" {
  name        = "${var.name}-scheduler"
  description = "EventBridge Scheduler submitting the nightly mass-ingest chunk job"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "scheduler" {
  name = "submit-chunk-job"
  role = aws_iam_role.scheduler.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "SubmitChunkJob"
        Effect = "Allow"
        Action = ["batch:SubmitJob"]
        Resource = [
          aws_batch_job_queue.this.arn,
          "${aws_batch_job_definition.this["chunk"].arn_prefix}:*",
        ]
      },
      {
        Sid      = "DeadLetter"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [aws_sqs_queue.schedule_dead_letter.arn]
      },
    ]
  })
}
