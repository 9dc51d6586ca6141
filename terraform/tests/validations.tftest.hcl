# One run per validation: each sets one bad value and expects exactly that variable (or
# precondition) to fail. The file-level variables are valid, so nothing else fails.

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

run "name_must_start_with_a_letter_and_be_short" {
  command = plan

  variables {
    name = "1-mass-ingest-with-a-name-far-too-long"
  }

  expect_failures = [var.name]
}

run "region_must_be_a_region_code" {
  command = plan

  variables {
    region = "Ireland"
  }

  expect_failures = [var.region]
}

run "tags_must_not_use_the_aws_prefix" {
  command = plan

  variables {
    tags = { "aws:owner" = "me" }
  }

  expect_failures = [var.tags]
}

run "vpc_id_must_be_a_vpc_id" {
  command = plan

  variables {
    vpc_id = "my-vpc"
  }

  expect_failures = [var.vpc_id]
}

run "subnet_ids_must_not_be_empty" {
  command = plan

  variables {
    subnet_ids = []
  }

  expect_failures = [var.subnet_ids]
}

run "subnet_ids_must_be_subnet_ids" {
  command = plan

  variables {
    subnet_ids = ["10.0.0.0/24"]
  }

  expect_failures = [var.subnet_ids]
}

run "compute_type_must_be_ec2_spot_or_fargate" {
  command = plan

  variables {
    compute_type = "spot"
  }

  expect_failures = [var.compute_type]
}

run "max_vcpus_must_be_a_positive_whole_number" {
  command = plan

  variables {
    max_vcpus = 0
  }

  expect_failures = [var.max_vcpus]
}

run "instance_types_must_not_be_empty" {
  command = plan

  variables {
    instance_types = []
  }

  expect_failures = [var.instance_types]
}

run "root_volume_must_hold_the_ami" {
  command = plan

  variables {
    root_volume_size_gib = 20
  }

  expect_failures = [var.root_volume_size_gib]
}

run "batch_service_role_must_be_a_role_arn" {
  command = plan

  variables {
    batch_service_role_arn = "AWSBatchServiceRole"
  }

  expect_failures = [var.batch_service_role_arn]
}

run "image_must_be_pinned_by_tag_or_digest" {
  command = plan

  variables {
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mass-ingest"
  }

  expect_failures = [var.image]
}

run "inventory_uri_must_be_s3_or_http" {
  command = plan

  variables {
    inventory_uri = "/data/repos.csv"
  }

  expect_failures = [var.inventory_uri]
}

run "inventory_uri_on_s3_must_name_a_key" {
  command = plan

  variables {
    inventory_uri = "s3://inventory-bucket"
  }

  expect_failures = [var.inventory_uri]
}

run "extra_inventory_uris_must_be_s3_objects_or_prefixes" {
  command = plan

  variables {
    extra_inventory_uris = ["s3://inventory-bucket/*/repos.csv"]
  }

  expect_failures = [var.extra_inventory_uris]
}

run "publish_url_must_be_s3_or_http" {
  command = plan

  variables {
    publish_url = "file:///artifacts"
  }

  expect_failures = [var.publish_url]
}

run "publish_url_on_s3_must_have_a_prefix" {
  command = plan

  variables {
    publish_url = "s3://artifact-bucket/"
  }

  expect_failures = [var.publish_url]
}

run "publish_user_must_not_be_blank" {
  command = plan

  variables {
    publish_user = ""
  }

  expect_failures = [var.publish_user]
}

run "publish_layout_must_be_default_or_maven" {
  command = plan

  variables {
    publish_layout = "gradle"
  }

  expect_failures = [var.publish_layout]
}

run "partition_size_must_be_a_positive_whole_number" {
  command = plan

  variables {
    partition_size = 0
  }

  expect_failures = [var.partition_size]
}

run "build_timeout_must_be_at_least_a_minute" {
  command = plan

  variables {
    build_timeout_seconds = 30
  }

  expect_failures = [var.build_timeout_seconds]
}

run "retry_attempts_must_be_within_batch_limits" {
  command = plan

  variables {
    retry_attempts = 11
  }

  expect_failures = [var.retry_attempts]
}

run "chunk_vcpu_must_be_a_batch_vcpu_count" {
  command = plan

  variables {
    chunk_vcpu = 1.5
  }

  expect_failures = [var.chunk_vcpu]
}

run "chunk_memory_must_be_at_least_512_mib" {
  command = plan

  variables {
    chunk_memory_mib = 256
  }

  expect_failures = [var.chunk_memory_mib]
}

run "chunk_timeout_must_be_at_least_a_minute" {
  command = plan

  variables {
    chunk_timeout_seconds = 59
  }

  expect_failures = [var.chunk_timeout_seconds]
}

run "processor_vcpu_must_be_a_batch_vcpu_count" {
  command = plan

  variables {
    processor_vcpu = 0
  }

  expect_failures = [var.processor_vcpu]
}

run "processor_memory_must_be_at_least_512_mib" {
  command = plan

  variables {
    processor_memory_mib = 100
  }

  expect_failures = [var.processor_memory_mib]
}

run "processor_timeout_must_be_at_least_a_minute" {
  command = plan

  variables {
    processor_timeout_seconds = 10
  }

  expect_failures = [var.processor_timeout_seconds]
}

run "report_vcpu_must_be_a_batch_vcpu_count" {
  command = plan

  variables {
    report_vcpu = 0.1
  }

  expect_failures = [var.report_vcpu]
}

run "report_memory_must_be_at_least_512_mib" {
  command = plan

  variables {
    report_memory_mib = 511
  }

  expect_failures = [var.report_memory_mib]
}

run "report_timeout_must_be_at_least_a_minute" {
  command = plan

  variables {
    report_timeout_seconds = 0
  }

  expect_failures = [var.report_timeout_seconds]
}

run "database_url_secret_must_be_a_secret_or_parameter_arn" {
  command = plan

  variables {
    database_url_secret_arn = "postgres://user:password@db.example.com/ingest"
  }

  expect_failures = [var.database_url_secret_arn]
}

run "git_credentials_secret_must_be_a_secret_or_parameter_arn" {
  command = plan

  variables {
    git_credentials_secret_arn = "https://user:token@github.com"
  }

  expect_failures = [var.git_credentials_secret_arn]
}

run "git_ssh_key_secret_must_be_a_secret_or_parameter_arn" {
  command = plan

  variables {
    git_ssh_key_secret_arn = "mass-ingest/git-ssh-key"
  }

  expect_failures = [var.git_ssh_key_secret_arn]
}

run "git_ssh_known_hosts_must_be_known_hosts_lines" {
  command = plan

  variables {
    git_ssh_known_hosts = "github.com"
  }

  expect_failures = [var.git_ssh_known_hosts]
}

run "git_ssh_known_hosts_takes_several_lines_comments_and_cert_authorities" {
  command = plan

  variables {
    git_ssh_known_hosts = "# the company's git servers\ngit.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey\n@cert-authority *.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICaKey\n"
  }
}

run "git_ssh_known_hosts_refuses_a_bad_line_after_a_good_one" {
  command = plan

  variables {
    git_ssh_known_hosts = "git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey\ngithub.com"
  }

  expect_failures = [var.git_ssh_known_hosts]
}

run "publish_password_secret_must_be_a_secret_or_parameter_arn" {
  command = plan

  variables {
    publish_password_secret_arn = "hunter2"
  }

  expect_failures = [var.publish_password_secret_arn]
}

run "publish_token_secret_must_be_a_secret_or_parameter_arn" {
  command = plan

  variables {
    publish_token_secret_arn = "arn:aws:s3:::bucket/token"
  }

  expect_failures = [var.publish_token_secret_arn]
}

run "github_tokens_secret_must_be_a_secret_or_parameter_arn" {
  command = plan

  variables {
    github_tokens_secret_arn = "ghp_0123456789"
  }

  expect_failures = [var.github_tokens_secret_arn]
}

run "secrets_kms_key_must_be_a_key_arn" {
  command = plan

  variables {
    secrets_kms_key_arn = "alias/aws/secretsmanager"
  }

  expect_failures = [var.secrets_kms_key_arn]
}

run "schedule_expression_must_be_cron_or_rate" {
  command = plan

  variables {
    schedule_expression = "0 2 * * *"
  }

  expect_failures = [var.schedule_expression]
}

run "schedule_timezone_must_be_an_iana_name" {
  command = plan

  variables {
    schedule_timezone = "UTC +1"
  }

  expect_failures = [var.schedule_timezone]
}

run "schedule_retry_attempts_must_be_within_scheduler_limits" {
  command = plan

  variables {
    schedule_retry_attempts = 186
  }

  expect_failures = [var.schedule_retry_attempts]
}

run "log_retention_must_be_a_cloudwatch_value" {
  command = plan

  variables {
    log_retention_days = 10
  }

  expect_failures = [var.log_retention_days]
}

run "fargate_rejects_vcpu_counts_it_does_not_offer" {
  command = plan

  variables {
    compute_type   = "FARGATE"
    processor_vcpu = 3
  }

  expect_failures = [aws_batch_job_definition.this]
}

run "ec2_rejects_fractional_vcpus" {
  command = plan

  variables {
    compute_type = "SPOT"
    chunk_vcpu   = 0.5
  }

  expect_failures = [aws_batch_job_definition.this]
}

run "fargate_rejects_more_than_200_gib_of_disk" {
  command = plan

  variables {
    compute_type         = "FARGATE"
    root_volume_size_gib = 500
  }

  expect_failures = [aws_batch_job_definition.this]
}

run "fargate_accepts_quarter_vcpu_jobs" {
  command = plan

  variables {
    compute_type     = "FARGATE"
    chunk_vcpu       = 0.25
    chunk_memory_mib = 512
  }

  assert {
    condition     = jsondecode(aws_batch_job_definition.this["chunk"].container_properties).resourceRequirements[0] == { type = "VCPU", value = "0.25" }
    error_message = "FARGATE must accept 0.25 vCPU."
  }
}

run "fargate_rejects_memory_its_vcpu_count_does_not_offer" {
  command = plan

  # 16 vCPUs on Fargate take 32768 to 122880 MiB: the default 15360 would fail at apply.
  variables {
    compute_type   = "FARGATE"
    processor_vcpu = 16
  }

  expect_failures = [aws_batch_job_definition.this]
}

run "fargate_accepts_memory_on_its_grid" {
  command = plan

  variables {
    compute_type         = "FARGATE"
    processor_vcpu       = 8
    processor_memory_mib = 61440
    report_vcpu          = 0.5
    report_memory_mib    = 4096
  }

  assert {
    condition = jsondecode(aws_batch_job_definition.this["processor"].container_properties).resourceRequirements == [
      { type = "VCPU", value = "8" },
      { type = "MEMORY", value = "61440" },
    ]
    error_message = "FARGATE must accept 8 vCPU with 60 GiB."
  }
}

run "ec2_memory_is_not_held_to_the_fargate_grid" {
  command = plan

  variables {
    compute_type         = "EC2"
    processor_vcpu       = 16
    processor_memory_mib = 15360
  }

  assert {
    condition     = jsondecode(aws_batch_job_definition.this["processor"].container_properties).resourceRequirements[1] == { type = "MEMORY", value = "15360" }
    error_message = "EC2 jobs may ask for any memory an instance offers."
  }
}

run "max_vcpus_must_fit_the_largest_job" {
  command = plan

  # processor_vcpu defaults to 4: such a job could never start.
  variables {
    max_vcpus = 2
  }

  expect_failures = [aws_batch_compute_environment.this]
}

run "publish_password_needs_publish_user" {
  command = plan

  # Every job would exit 2: "PUBLISH_PASSWORD is set but PUBLISH_USER is not".
  variables {
    publish_url                 = "https://repo.example.com/artifactory/mass-ingest"
    publish_password_secret_arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/mass-ingest/publish-password"
  }

  expect_failures = [aws_batch_job_definition.this]
}

run "publish_url_must_not_hold_credentials" {
  command = plan

  variables {
    publish_url = "https://ingest:s3cret@repo.example.com/artifactory/mass-ingest"
  }

  expect_failures = [var.publish_url]
}

run "inventory_uri_must_not_hold_credentials" {
  command = plan

  variables {
    inventory_uri = "https://ghp_token@raw.example.com/acme/inventory/main/repos.csv"
  }

  expect_failures = [var.inventory_uri]
}

run "secrets_manager_arns_must_be_full_arns" {
  command = plan

  # A partial ARN (no -AbCdEf suffix) matches no secret in the execution role's policy.
  variables {
    git_credentials_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/git-credentials"
  }

  expect_failures = [var.git_credentials_secret_arn]
}

run "s3_kms_keys_must_be_key_arns" {
  command = plan

  variables {
    s3_kms_key_arns = ["alias/aws/s3"]
  }

  expect_failures = [var.s3_kms_key_arns]
}

run "processor_timeout_must_outlast_one_build" {
  command = plan

  variables {
    processor_timeout_seconds = 1800
    build_timeout_seconds     = 1800
  }

  expect_failures = [var.processor_timeout_seconds]
}

run "processor_timeout_must_outlast_one_clone_and_build" {
  command = plan

  variables {
    processor_timeout_seconds = 3000
    clone_timeout_seconds     = 1500
    build_timeout_seconds     = 1500
  }

  expect_failures = [var.processor_timeout_seconds]
}

run "processor_timeout_just_above_one_clone_and_build_plans" {
  command = plan

  variables {
    processor_timeout_seconds = 3001
    clone_timeout_seconds     = 1500
    build_timeout_seconds     = 1500
  }
}

run "image_tagged_latest_warns" {
  command = plan

  variables {
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mass-ingest:latest"
  }

  expect_failures = [check.image_is_pinned]
}

run "build_user_must_not_be_root" {
  command = plan

  variables {
    build_user = "root"
  }

  expect_failures = [var.build_user]
}

run "build_user_must_be_a_user_name_or_uid" {
  command = plan

  variables {
    build_user = "node; id"
  }

  expect_failures = [var.build_user]
}

run "publish_timeout_seconds_must_be_a_whole_number_of_seconds" {
  command = plan

  variables {
    publish_timeout_seconds = 0.5
  }

  expect_failures = [var.publish_timeout_seconds]
}

run "publish_fail_fast_after_must_be_a_whole_number_of_attempts" {
  command = plan

  variables {
    publish_fail_fast_after = 1.5
  }

  expect_failures = [var.publish_fail_fast_after]
}

run "publish_fail_fast_after_must_not_be_negative" {
  command = plan

  variables {
    publish_fail_fast_after = -1
  }

  expect_failures = [var.publish_fail_fast_after]
}

run "publish_fail_fast_for_must_be_at_least_one_second" {
  command = plan

  variables {
    publish_fail_fast_for_seconds = 0
  }

  expect_failures = [var.publish_fail_fast_for_seconds]
}

run "publish_fail_fast_for_must_be_a_whole_number_of_seconds" {
  command = plan

  variables {
    publish_fail_fast_for_seconds = 2.5
  }

  expect_failures = [var.publish_fail_fast_for_seconds]
}

run "results_retention_must_be_at_least_one_day" {
  command = plan

  variables {
    results_retention_days = 0
  }

  expect_failures = [var.results_retention_days]
}

run "results_retention_must_be_whole_days" {
  command = plan

  variables {
    results_retention_days = 1.5
  }

  expect_failures = [var.results_retention_days]
}

run "results_keep_runs_must_be_at_least_one" {
  command = plan

  variables {
    results_keep_runs = 0
  }

  expect_failures = [var.results_keep_runs]
}

run "build_user_may_not_name_root_among_several" {
  command = plan

  variables {
    build_user = "node,root"
  }

  expect_failures = [var.build_user]
}

run "build_user_ranges_start_above_uid_0" {
  command = plan

  variables {
    build_user = "0-4"
  }

  expect_failures = [var.build_user]
}

run "processor_concurrency_must_be_whole_and_at_most_64" {
  command = plan

  variables {
    processor_concurrency = 65
  }

  expect_failures = [var.processor_concurrency]
}

run "submodules_must_be_recursive_or_none" {
  command = plan

  variables {
    submodules = "yes"
  }

  expect_failures = [var.submodules]
}

run "lfs_must_be_fetch_or_skip" {
  command = plan

  variables {
    lfs = "yes"
  }

  expect_failures = [var.lfs]
}

run "clone_timeout_must_be_a_minute_or_more" {
  command = plan

  variables {
    clone_timeout_seconds = 30
  }

  expect_failures = [var.clone_timeout_seconds]
}

run "clone_timeout_must_fit_a_timer" {
  command = plan

  variables {
    clone_timeout_seconds = 3000000
  }

  expect_failures = [var.clone_timeout_seconds]
}

run "build_timeout_must_fit_a_timer" {
  command = plan

  variables {
    build_timeout_seconds     = 3000000
    processor_timeout_seconds = 3000001
  }

  expect_failures = [var.build_timeout_seconds]
}
