################################################################################
# Job definitions
################################################################################

locals {
  fargate = var.compute_type == "FARGATE"

  # Settings, not secrets: the secrets go through `secrets` below, resolved by ECS at start.
  common_environment = merge(
    {
      AWS_REGION              = var.region
      BUILD_TIMEOUT           = tostring(var.build_timeout_seconds)
      CLONE_TIMEOUT           = tostring(var.clone_timeout_seconds)
      JOB_DEFINITION          = local.job_definition_names.processor
      JOB_QUEUE               = aws_batch_job_queue.this.name
      LOG_FORMAT              = "json"
      PARTITION_SIZE          = tostring(var.partition_size)
      PUBLISH_FAIL_FAST_AFTER = tostring(var.publish_fail_fast_after)
      PUBLISH_FAIL_FAST_FOR   = tostring(var.publish_fail_fast_for_seconds)
      PUBLISH_LAYOUT          = var.publish_layout
      PUBLISH_TIMEOUT         = tostring(var.publish_timeout_seconds)
      PUBLISH_URL             = var.publish_url
    },
    var.publish_user == null ? {} : { PUBLISH_USER = var.publish_user },
  )

  # The Ref:: names are the SubmitJob parameters of DESIGN §9; `parameters` holds the defaults
  # a submit without them falls back to. runId and inventorySha256 have none: the chunk job
  # always passes them, and a processor submitted by hand overrides the command (--start/--end).
  jobs = {
    chunk = {
      command    = ["chunk", "Ref::inventory", "--partition-size", "Ref::partitionSize", "--mode", "Ref::mode"]
      parameters = { inventory = var.inventory_uri, partitionSize = tostring(var.partition_size), mode = "array" }
      environment = merge(
        local.common_environment,
        { REPORT_JOB_DEFINITION = local.job_definition_names.report },
        # The nightly chunk job removes runs older than this once it has submitted its own (src/results/prune.ts).
        var.results_retention_days == null ? {} : { RESULTS_RETENTION_DAYS = tostring(var.results_retention_days), RESULTS_KEEP_RUNS = tostring(var.results_keep_runs) },
      )
      secrets    = ["DATABASE_URL", "GITHUB_TOKENS"]
      user       = null
      vcpu       = var.chunk_vcpu
      memory_mib = var.chunk_memory_mib
      timeout    = var.chunk_timeout_seconds
    }
    processor = {
      command = [
        "process", "Ref::inventory",
        "--partition-size", "Ref::partitionSize",
        "--partition-offset", "Ref::partitionOffset",
        "--run-id", "Ref::runId",
        "--inventory-sha256", "Ref::inventorySha256",
      ]
      parameters = { inventory = var.inventory_uri, partitionSize = tostring(var.partition_size), partitionOffset = "0" }
      environment = merge(
        local.common_environment,
        var.git_ssh_known_hosts == null ? {} : { GIT_SSH_KNOWN_HOSTS = trimspace(var.git_ssh_known_hosts) },
        var.build_user == null ? {} : { BUILD_USER = var.build_user },
        var.processor_concurrency == 1 ? {} : { CONCURRENCY = tostring(var.processor_concurrency) },
        var.submodules == "recursive" ? {} : { SUBMODULES = var.submodules },
        var.lfs == "skip" ? {} : { LFS = var.lfs },
      )
      # Root only to start each build as build_user (src/build/build-user.ts); the image's own user otherwise.
      user       = var.build_user == null ? null : "root"
      secrets    = ["DATABASE_URL", "GIT_CREDENTIALS", "GIT_SSH_KEY", "PUBLISH_PASSWORD", "PUBLISH_TOKEN"]
      vcpu       = var.processor_vcpu
      memory_mib = var.processor_memory_mib
      timeout    = var.processor_timeout_seconds
    }
    report = {
      command     = ["report", "--run", "Ref::runId", "--format", "html", "--publish"]
      parameters  = { runId = "last" }
      environment = local.common_environment
      secrets     = ["DATABASE_URL", "PUBLISH_PASSWORD", "PUBLISH_TOKEN"]
      user        = null
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

  # Memory (MiB) Fargate offers for each vCPU count (AWS Batch API reference, ResourceRequirement).
  fargate_memory_mib = {
    "0.25" = [512, 1024, 2048]
    "0.5"  = range(1024, 4096 + 1, 1024)
    "1"    = range(2048, 8192 + 1, 1024)
    "2"    = range(4096, 16384 + 1, 1024)
    "4"    = range(8192, 30720 + 1, 1024)
    "8"    = range(16384, 61440 + 1, 4096)
    "16"   = range(32768, 122880 + 1, 8192)
  }

  fargate_memory_text = {
    "0.25" = "512, 1024 or 2048 MiB"
    "0.5"  = "1024 to 4096 MiB in steps of 1024"
    "1"    = "2048 to 8192 MiB in steps of 1024"
    "2"    = "4096 to 16384 MiB in steps of 1024"
    "4"    = "8192 to 30720 MiB in steps of 1024"
    "8"    = "16384 to 61440 MiB in steps of 4096"
    "16"   = "32768 to 122880 MiB in steps of 8192"
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
    each.value.user == null ? null : { user = each.value.user },
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
      condition     = !local.fargate || contains(lookup(local.fargate_memory_mib, tostring(each.value.vcpu), [each.value.memory_mib]), each.value.memory_mib)
      error_message = "${each.key}_memory_mib = ${each.value.memory_mib} does not fit FARGATE with ${each.key}_vcpu = ${each.value.vcpu}: with ${each.value.vcpu} vCPU Fargate offers ${lookup(local.fargate_memory_text, tostring(each.value.vcpu), "other amounts")}."
    }

    # PUBLISH_PASSWORD without PUBLISH_USER is a configuration error in every job (src/config/config.ts).
    precondition {
      condition     = each.key != "processor" || var.publish_password_secret_arn == null || var.publish_user != null
      error_message = "publish_password_secret_arn is set but publish_user is not: basic auth needs both (PUBLISH_USER and PUBLISH_PASSWORD), else every job exits 2. Set publish_user, or store a bearer token in publish_token_secret_arn instead."
    }

    precondition {
      condition     = !local.fargate || var.root_volume_size_gib <= 200
      error_message = "root_volume_size_gib = ${var.root_volume_size_gib} is too large for FARGATE, whose ephemeral storage is 21 to 200 GiB: set it to 200 or less."
    }
  }
}

# A warning at plan time, not a failure: sharing one build user is how builds ran before pools.
check "each_concurrent_build_has_a_build_user" {
  assert {
    condition     = var.build_user == null || local.build_users >= var.processor_concurrency
    error_message = "build_user names ${local.build_users} user(s) for processor_concurrency = ${var.processor_concurrency}: concurrent builds will share a user and can change each other's clones. Name one per build, e.g. build_user = \"10001-${10000 + var.processor_concurrency}\"."
  }
}

locals {
  # Users build_user names: a uid range counts its uids.
  build_users = var.build_user == null ? 0 : sum([
    for item in split(",", var.build_user) : can(regex("^[0-9]+-[0-9]+$", item)) ? tonumber(split("-", item)[1]) - tonumber(split("-", item)[0]) + 1 : 1
  ])
}
