################################################################################
# Job definitions
################################################################################

locals {
  fargate = var.compute_type == "FARGATE"

  # Settings, not secrets: the secrets go through `secrets` below, resolved by ECS at start.
  common_environment = merge(
    {
      AWS_REGION     = var.region
      BUILD_TIMEOUT  = tostring(var.build_timeout_seconds)
      JOB_DEFINITION = local.job_definition_names.processor
      JOB_QUEUE      = aws_batch_job_queue.this.name
      LOG_FORMAT     = "json"
      PARTITION_SIZE = tostring(var.partition_size)
      PUBLISH_LAYOUT = var.publish_layout
      PUBLISH_URL    = var.publish_url
    },
    var.publish_user == null ? {} : { PUBLISH_USER = var.publish_user },
  )

  # The Ref:: names are the SubmitJob parameters of DESIGN §9; `parameters` holds the defaults
  # a submit without them falls back to. runId and inventorySha256 have none: the chunk job
  # always passes them, and a processor submitted by hand overrides the command (--start/--end).
  jobs = {
    chunk = {
      command     = ["chunk", "Ref::inventory", "--partition-size", "Ref::partitionSize", "--mode", "Ref::mode"]
      parameters  = { inventory = var.inventory_uri, partitionSize = tostring(var.partition_size), mode = "array" }
      environment = merge(local.common_environment, { REPORT_JOB_DEFINITION = local.job_definition_names.report })
      secrets     = ["DATABASE_URL", "GITHUB_TOKENS"]
      vcpu        = var.chunk_vcpu
      memory_mib  = var.chunk_memory_mib
      timeout     = var.chunk_timeout_seconds
    }
    processor = {
      command = [
        "process", "Ref::inventory",
        "--partition-size", "Ref::partitionSize",
        "--partition-offset", "Ref::partitionOffset",
        "--run-id", "Ref::runId",
        "--inventory-sha256", "Ref::inventorySha256",
      ]
      parameters  = { inventory = var.inventory_uri, partitionSize = tostring(var.partition_size), partitionOffset = "0" }
      environment = local.common_environment
      secrets     = ["DATABASE_URL", "GIT_CREDENTIALS", "PUBLISH_PASSWORD", "PUBLISH_TOKEN"]
      vcpu        = var.processor_vcpu
      memory_mib  = var.processor_memory_mib
      timeout     = var.processor_timeout_seconds
    }
    report = {
      command     = ["report", "--run", "Ref::runId", "--format", "html", "--publish"]
      parameters  = { runId = "last" }
      environment = local.common_environment
      secrets     = ["DATABASE_URL", "PUBLISH_PASSWORD", "PUBLISH_TOKEN"]
      vcpu        = var.report_vcpu
      memory_mib  = var.report_memory_mib
      timeout     = var.report_timeout_seconds
    }
  }

  job_secrets = {
    for job, spec in local.jobs : job => [
      for name in spec.secrets : { name = name, valueFrom = local.secret_arns[name] }
      if contains(keys(local.secret_arns), name)
    ]
  }

  fargate_container_properties = {
    networkConfiguration         = { assignPublicIp = var.assign_public_ip ? "ENABLED" : "DISABLED" }
    fargatePlatformConfiguration = { platformVersion = "LATEST" }
    ephemeralStorage             = { sizeInGiB = var.root_volume_size_gib }
  }
}

resource "aws_batch_job_definition" "this" {
  for_each = local.jobs

  name                  = local.job_definition_names[each.key]
  type                  = "container"
  platform_capabilities = [local.fargate ? "FARGATE" : "EC2"]
  parameters            = each.value.parameters

  container_properties = jsonencode(merge(
    {
      image            = var.image
      command          = each.value.command
      jobRoleArn       = aws_iam_role.job[each.key].arn
      executionRoleArn = aws_iam_role.execution.arn
      resourceRequirements = [
        { type = "VCPU", value = tostring(each.value.vcpu) },
        { type = "MEMORY", value = tostring(each.value.memory_mib) },
      ]
      environment = [for name in sort(keys(each.value.environment)) : { name = name, value = each.value.environment[name] }]
      # tini as PID 1 forwards SIGTERM and reaps the builds' orphaned processes.
      linuxParameters = { initProcessEnabled = true }
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.jobs.name
          awslogs-stream-prefix = each.key
        }
      }
    },
    length(local.job_secrets[each.key]) > 0 ? { secrets = local.job_secrets[each.key] } : null,
    local.fargate ? local.fargate_container_properties : null,
  ))

  timeout {
    attempt_duration_seconds = each.value.timeout
  }

  # Batch retries every non-zero exit unless a rule says otherwise: retry only a lost host
  # (Spot reclaim) and exit 3 (DESIGN §8), and end on catch-alls for both failures with an
  # exit code and failures without one (those match only on_reason).
  retry_strategy {
    attempts = var.retry_attempts

    evaluate_on_exit {
      on_status_reason = "Host EC2*"
      action           = "RETRY"
    }

    evaluate_on_exit {
      on_exit_code = "3"
      action       = "RETRY"
    }

    evaluate_on_exit {
      on_exit_code = "*"
      action       = "EXIT"
    }

    evaluate_on_exit {
      on_reason = "*"
      action    = "EXIT"
    }
  }

  lifecycle {
    precondition {
      condition     = local.fargate ? contains([0.25, 0.5, 1, 2, 4, 8, 16], each.value.vcpu) : each.value.vcpu == floor(each.value.vcpu)
      error_message = "${each.key}_vcpu = ${each.value.vcpu} does not fit ${var.compute_type}: FARGATE takes 0.25, 0.5, 1, 2, 4, 8 or 16 vCPUs, EC2 and SPOT whole vCPUs."
    }

    precondition {
      condition     = !local.fargate || var.root_volume_size_gib <= 200
      error_message = "root_volume_size_gib = ${var.root_volume_size_gib} is too large for FARGATE, whose ephemeral storage is 21 to 200 GiB: set it to 200 or less."
    }
  }
}
