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

run "commands_and_parameters_match_the_cli" {
  command = plan

  variables {
    partition_size = 25
  }

  assert {
    condition     = jsondecode(aws_batch_job_definition.this["chunk"].container_properties).command == ["chunk", "Ref::inventory", "--partition-size", "Ref::partitionSize", "--mode", "Ref::mode"]
    error_message = "The chunk command must be: chunk <inventory> --partition-size <size> --mode <mode>."
  }

  assert {
    condition     = aws_batch_job_definition.this["chunk"].parameters == tomap({ inventory = "s3://inventory-bucket/inventories/repos.csv", partitionSize = "25", mode = "array" })
    error_message = "The chunk job's parameter defaults must be inventory_uri, partition_size and mode array."
  }

  assert {
    condition = jsondecode(aws_batch_job_definition.this["processor"].container_properties).command == [
      "process", "Ref::inventory", "--partition-size", "Ref::partitionSize", "--partition-offset", "Ref::partitionOffset",
      "--run-id", "Ref::runId", "--inventory-sha256", "Ref::inventorySha256",
    ]
    error_message = "The processor command must take the array-job parameters of DESIGN §9."
  }

  assert {
    condition     = aws_batch_job_definition.this["processor"].parameters == tomap({ inventory = "s3://inventory-bucket/inventories/repos.csv", partitionSize = "25", partitionOffset = "0" })
    error_message = "The processor's parameter defaults must be inventory_uri, partition_size and offset 0."
  }

  assert {
    condition     = jsondecode(aws_batch_job_definition.this["report"].container_properties).command == ["report", "--run", "Ref::runId", "--format", "html", "--publish"]
    error_message = "The report command must be: report --run <runId> --format html --publish."
  }

  assert {
    condition     = aws_batch_job_definition.this["report"].parameters == tomap({ runId = "last" })
    error_message = "The report job must default to the last run."
  }

  assert {
    condition     = { for job, definition in aws_batch_job_definition.this : job => definition.name } == { chunk = "mass-ingest-chunk", processor = "mass-ingest-processor", report = "mass-ingest-report" }
    error_message = "The job definitions must be named <name>-chunk, <name>-processor and <name>-report."
  }

  assert {
    condition     = alltrue([for job in aws_batch_job_definition.this : jsondecode(job.container_properties).image == var.image])
    error_message = "Every job must run the given image."
  }
}

run "each_job_role_differs_from_the_execution_role" {
  command = plan

  assert {
    condition = alltrue([
      for job in aws_batch_job_definition.this :
      jsondecode(job.container_properties).jobRoleArn != jsondecode(job.container_properties).executionRoleArn
    ])
    error_message = "jobRoleArn (what the code may do) must differ from executionRoleArn (what ECS does to start it)."
  }

  assert {
    condition = {
      for job, definition in aws_batch_job_definition.this : job => jsondecode(definition.container_properties).jobRoleArn
      } == {
      chunk     = "arn:aws:iam::123456789012:role/mass-ingest-chunk-job"
      processor = "arn:aws:iam::123456789012:role/mass-ingest-processor-job"
      report    = "arn:aws:iam::123456789012:role/mass-ingest-report-job"
    }
    error_message = "Each job must run with its own job role."
  }

  assert {
    condition     = alltrue([for job in aws_batch_job_definition.this : jsondecode(job.container_properties).executionRoleArn == "arn:aws:iam::123456789012:role/mass-ingest-execution"])
    error_message = "Every job must start with the execution role."
  }
}

run "retry_strategy_retries_only_lost_hosts_and_exit_code_3" {
  command = plan

  variables {
    retry_attempts = 4
  }

  assert {
    condition     = alltrue([for job in aws_batch_job_definition.this : job.retry_strategy[0].attempts == 4])
    error_message = "Attempts must come from retry_attempts."
  }

  # Compared as JSON: the unset fields are typed nulls on one side, untyped on the other.
  assert {
    condition = alltrue([
      for job in aws_batch_job_definition.this : jsonencode([
        for rule in job.retry_strategy[0].evaluate_on_exit : [upper(rule.action), rule.on_status_reason, rule.on_exit_code, rule.on_reason]
        ]) == jsonencode([
        ["RETRY", "Host EC2*", null, null],
        ["RETRY", null, "3", null],
        ["EXIT", null, "*", null],
        ["EXIT", null, null, "*"],
      ])
    ])
    error_message = "Retry rules must be exactly: Host EC2* → RETRY, exit 3 → RETRY, any exit code → EXIT, any reason → EXIT."
  }
}

run "secrets_are_never_in_environment" {
  command = plan

  variables {
    git_credentials_secret_arn  = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/git-credentials-AbCdEf"
    git_ssh_key_secret_arn      = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/git-ssh-key-AbCdEf"
    git_ssh_known_hosts         = "git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey\n"
    publish_password_secret_arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/mass-ingest/publish-password"
    publish_user                = "ingest"
    publish_token_secret_arn    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/publish-AbCdEf:token::"
    github_tokens_secret_arn    = "arn:aws:ssm:eu-west-1:123456789012:parameter/mass-ingest/github-tokens"
  }

  assert {
    condition = alltrue(flatten([
      for job in aws_batch_job_definition.this : [
        for variable in jsondecode(job.container_properties).environment :
        !contains(["DATABASE_URL", "GIT_CREDENTIALS", "GIT_SSH_KEY", "GITHUB_TOKENS", "GITHUB_TOKEN", "PUBLISH_PASSWORD", "PUBLISH_TOKEN"], variable.name)
      ]
    ]))
    error_message = "No secret may be in a job's environment."
  }

  assert {
    condition = alltrue(flatten([
      for job in aws_batch_job_definition.this : [
        for variable in jsondecode(job.container_properties).environment : !startswith(variable.value, "arn:")
      ]
    ]))
    error_message = "No secret ARN may leak into a job's environment."
  }

  assert {
    condition = {
      for job, definition in aws_batch_job_definition.this : job => {
        for secret in jsondecode(definition.container_properties).secrets : secret.name => secret.valueFrom
      }
      } == {
      chunk = {
        DATABASE_URL  = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/database-url-AbCdEf"
        GITHUB_TOKENS = "arn:aws:ssm:eu-west-1:123456789012:parameter/mass-ingest/github-tokens"
      }
      processor = {
        DATABASE_URL     = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/database-url-AbCdEf"
        GIT_CREDENTIALS  = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/git-credentials-AbCdEf"
        GIT_SSH_KEY      = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/git-ssh-key-AbCdEf"
        PUBLISH_PASSWORD = "arn:aws:ssm:eu-west-1:123456789012:parameter/mass-ingest/publish-password"
        PUBLISH_TOKEN    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/publish-AbCdEf:token::"
      }
      report = {
        DATABASE_URL     = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/database-url-AbCdEf"
        PUBLISH_PASSWORD = "arn:aws:ssm:eu-west-1:123456789012:parameter/mass-ingest/publish-password"
        PUBLISH_TOKEN    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/publish-AbCdEf:token::"
      }
    }
    error_message = "Each job must get, through `secrets`, exactly the set secrets it uses."
  }

  assert {
    condition = {
      for job, definition in aws_batch_job_definition.this : job => [
        for variable in jsondecode(definition.container_properties).environment : variable.value if variable.name == "GIT_SSH_KNOWN_HOSTS"
      ]
      } == {
      chunk     = []
      processor = ["git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey"]
      report    = []
    }
    error_message = "The processor alone gets the host keys, trimmed, as GIT_SSH_KNOWN_HOSTS."
  }
}

run "only_the_secrets_that_are_set_appear" {
  command = plan

  variables {
    database_url_secret_arn = null
  }

  # Without DATABASE_URL the jobs would not share a database: the check warns about it.
  expect_failures = [check.database_is_shared]

  assert {
    condition     = alltrue([for job in aws_batch_job_definition.this : !contains(keys(jsondecode(job.container_properties)), "secrets")])
    error_message = "With no secret ARN set, no job definition may list secrets."
  }
}

run "environment_carries_the_settings" {
  command = plan

  variables {
    publish_url           = "https://repo.example.com/artifactory/mass-ingest"
    publish_user          = "ingest"
    partition_size        = 20
    build_timeout_seconds = 900
    clone_timeout_seconds = 600
  }

  assert {
    condition = {
      for variable in jsondecode(aws_batch_job_definition.this["processor"].container_properties).environment : variable.name => variable.value
      } == {
      AWS_REGION              = "eu-west-1"
      BUILD_TIMEOUT           = "900"
      CLONE_TIMEOUT           = "600"
      JOB_DEFINITION          = "mass-ingest-processor"
      JOB_QUEUE               = "mass-ingest"
      LOG_FORMAT              = "json"
      PARTITION_SIZE          = "20"
      PUBLISH_FAIL_FAST_AFTER = "4"
      PUBLISH_FAIL_FAST_FOR   = "60"
      PUBLISH_LAYOUT          = "default"
      PUBLISH_TIMEOUT         = "30"
      PUBLISH_URL             = "https://repo.example.com/artifactory/mass-ingest"
      PUBLISH_USER            = "ingest"
      BUILD_USER              = "node"
    }
    error_message = "The processor's environment must hold exactly the non-secret settings."
  }

  assert {
    condition = {
      for variable in jsondecode(aws_batch_job_definition.this["chunk"].container_properties).environment : variable.name => variable.value
    }["REPORT_JOB_DEFINITION"] == "mass-ingest-report"
    error_message = "The chunk job must know the report job definition by name."
  }

  assert {
    condition = alltrue([
      for job in ["processor", "report"] : !contains([for variable in jsondecode(aws_batch_job_definition.this[job].container_properties).environment : variable.name], "REPORT_JOB_DEFINITION")
    ])
    error_message = "Only the chunk job submits the report job."
  }

  assert {
    condition     = !can(regex(":[0-9]+$", one([for variable in jsondecode(aws_batch_job_definition.this["chunk"].container_properties).environment : variable.value if variable.name == "JOB_DEFINITION"])))
    error_message = "JOB_DEFINITION must be the name without a revision, so the latest active revision is used."
  }
}

run "publish_settings_come_from_variables_in_every_job" {
  command = plan

  variables {
    publish_timeout_seconds       = 45
    publish_fail_fast_after       = 0
    publish_fail_fast_for_seconds = 300
  }

  assert {
    condition = alltrue([
      for job in aws_batch_job_definition.this : {
        for variable in jsondecode(job.container_properties).environment : variable.name => variable.value
        if contains(["PUBLISH_TIMEOUT", "PUBLISH_FAIL_FAST_AFTER", "PUBLISH_FAIL_FAST_FOR"], variable.name)
      } == { PUBLISH_TIMEOUT = "45", PUBLISH_FAIL_FAST_AFTER = "0", PUBLISH_FAIL_FAST_FOR = "300" }
    ])
    error_message = "Every job that publishes must get PUBLISH_TIMEOUT, PUBLISH_FAIL_FAST_AFTER and PUBLISH_FAIL_FAST_FOR from publish_timeout_seconds, publish_fail_fast_after and publish_fail_fast_for_seconds."
  }
}

run "publish_user_is_absent_unless_given" {
  command = plan

  assert {
    condition     = alltrue([for job in aws_batch_job_definition.this : !contains([for variable in jsondecode(job.container_properties).environment : variable.name], "PUBLISH_USER")])
    error_message = "PUBLISH_USER must not be set when publish_user is null."
  }
}

run "resources_and_timeouts_come_from_variables" {
  command = plan

  variables {
    chunk_vcpu             = 2
    chunk_memory_mib       = 4096
    chunk_timeout_seconds  = 600
    report_timeout_seconds = 900
  }

  assert {
    condition = jsondecode(aws_batch_job_definition.this["processor"].container_properties).resourceRequirements == [
      { type = "VCPU", value = "4" },
      { type = "MEMORY", value = "15360" },
    ]
    error_message = "The processor must default to 4 vCPU and 15 GiB, like the original scripts."
  }

  assert {
    condition = jsondecode(aws_batch_job_definition.this["chunk"].container_properties).resourceRequirements == [
      { type = "VCPU", value = "2" },
      { type = "MEMORY", value = "4096" },
    ]
    error_message = "The chunk job's vCPU and memory must come from chunk_vcpu and chunk_memory_mib."
  }

  assert {
    condition = { for job, definition in aws_batch_job_definition.this : job => definition.timeout[0].attempt_duration_seconds } == {
      chunk     = 600
      processor = 21600
      report    = 900
    }
    error_message = "Each job's attempt timeout must come from its *_timeout_seconds."
  }
}

run "jobs_log_json_through_awslogs_with_an_init_process" {
  command = plan

  variables {
    log_retention_days = 90
  }

  assert {
    condition     = aws_cloudwatch_log_group.jobs.name == "/aws/batch/mass-ingest" && aws_cloudwatch_log_group.jobs.retention_in_days == 90
    error_message = "The log group must keep lines for log_retention_days."
  }

  assert {
    condition = alltrue([
      for job, definition in aws_batch_job_definition.this : jsondecode(definition.container_properties).logConfiguration == {
        logDriver = "awslogs"
        options   = { awslogs-group = "/aws/batch/mass-ingest", awslogs-stream-prefix = job }
      }
    ])
    error_message = "Every job must log through awslogs to the log group, streams prefixed by the job."
  }

  assert {
    condition     = alltrue([for job in aws_batch_job_definition.this : jsondecode(job.container_properties).linuxParameters.initProcessEnabled == true])
    error_message = "Every job must run under an init process (signals, zombie builds)."
  }
}

run "builds_run_as_the_image_user_and_the_processor_as_root" {
  command = plan

  assert {
    condition     = jsondecode(aws_batch_job_definition.this["processor"].container_properties).user == "root"
    error_message = "With build_user set (default node), the processor must run as root to start builds as that user."
  }

  assert {
    condition     = one([for variable in jsondecode(aws_batch_job_definition.this["processor"].container_properties).environment : variable.value if variable.name == "BUILD_USER"]) == "node"
    error_message = "The processor must get BUILD_USER = build_user (default node)."
  }

  assert {
    condition = alltrue([
      for job in ["chunk", "report"] : !can(jsondecode(aws_batch_job_definition.this[job].container_properties).user) && !contains([for variable in jsondecode(aws_batch_job_definition.this[job].container_properties).environment : variable.name], "BUILD_USER")
    ])
    error_message = "The chunk and report jobs run no builds: they keep the image's user and get no BUILD_USER."
  }
}

run "without_build_user_everything_runs_as_the_image_user" {
  command = plan

  variables {
    build_user = null
  }

  assert {
    condition     = !can(jsondecode(aws_batch_job_definition.this["processor"].container_properties).user)
    error_message = "With build_user = null the processor must run as the image's user."
  }

  assert {
    condition     = !contains([for variable in jsondecode(aws_batch_job_definition.this["processor"].container_properties).environment : variable.name], "BUILD_USER")
    error_message = "With build_user = null there must be no BUILD_USER."
  }
}

run "results_are_kept_forever_unless_a_retention_is_given" {
  command = plan

  assert {
    condition = alltrue([
      for job in aws_batch_job_definition.this : length([
        for variable in jsondecode(job.container_properties).environment : variable.name if startswith(variable.name, "RESULTS_")
      ]) == 0
    ])
    error_message = "Without results_retention_days no job may prune: RESULTS_RETENTION_DAYS and RESULTS_KEEP_RUNS must be absent."
  }
}

run "only_the_chunk_job_prunes_old_runs" {
  command = plan

  variables {
    results_retention_days = 90
    results_keep_runs      = 5
  }

  assert {
    condition = {
      for variable in jsondecode(aws_batch_job_definition.this["chunk"].container_properties).environment : variable.name => variable.value
      if startswith(variable.name, "RESULTS_")
    } == { RESULTS_RETENTION_DAYS = "90", RESULTS_KEEP_RUNS = "5" }
    error_message = "The chunk job must get RESULTS_RETENTION_DAYS and RESULTS_KEEP_RUNS from results_retention_days and results_keep_runs."
  }

  assert {
    condition = alltrue([
      for job in ["processor", "report"] : length([
        for variable in jsondecode(aws_batch_job_definition.this[job].container_properties).environment : variable.name if startswith(variable.name, "RESULTS_")
      ]) == 0
    ])
    error_message = "Only the chunk job prunes: the processor and report jobs must not get RESULTS_* settings."
  }
}

run "concurrent_builds_get_a_user_each" {
  command = plan

  variables {
    processor_concurrency = 4
    build_user            = "10001-10004"
  }

  assert {
    condition = {
      for variable in jsondecode(aws_batch_job_definition.this["processor"].container_properties).environment : variable.name => variable.value
      if contains(["CONCURRENCY", "BUILD_USER"], variable.name)
    } == { CONCURRENCY = "4", BUILD_USER = "10001-10004" }
    error_message = "The processor must get CONCURRENCY = processor_concurrency and BUILD_USER = build_user."
  }

  assert {
    condition     = local.build_users == 4
    error_message = "A uid range must count its uids."
  }

  assert {
    condition = alltrue([
      for job in ["chunk", "report"] : !contains([for variable in jsondecode(aws_batch_job_definition.this[job].container_properties).environment : variable.name], "CONCURRENCY")
    ])
    error_message = "Only the processor builds: the chunk and report jobs get no CONCURRENCY."
  }
}

run "processors_can_leave_submodules_out_and_fetch_lfs_files" {
  command = plan

  variables {
    submodules = "none"
    lfs        = "fetch"
  }

  assert {
    condition = {
      for variable in jsondecode(aws_batch_job_definition.this["processor"].container_properties).environment : variable.name => variable.value
      if contains(["SUBMODULES", "LFS"], variable.name)
    } == { SUBMODULES = "none", LFS = "fetch" }
    error_message = "submodules = \"none\" and lfs = \"fetch\" must reach the processor as SUBMODULES=none and LFS=fetch."
  }
}

run "concurrent_builds_sharing_one_user_are_warned_about" {
  command = plan

  variables {
    processor_concurrency = 4
  }

  expect_failures = [check.each_concurrent_build_has_a_build_user]
}
