mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  region                  = "eu-west-1"
  vpc_id                  = "vpc-0123456789abcdef0"
  subnet_ids              = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
  image                   = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mass-ingest:0.1.0"
  inventory_uri           = "s3://inventory-bucket/inventories/repos.csv"
  publish_url             = "s3://artifact-bucket/mass-ingest"
  database_url_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/database-url-AbCdEf"
}

run "ec2_runs_on_demand_instances_from_the_launch_template" {
  command = plan

  variables {
    compute_type   = "EC2"
    max_vcpus      = 64
    instance_types = ["m6i.xlarge", "m6i.2xlarge"]
  }

  assert {
    condition     = aws_batch_compute_environment.this.type == "MANAGED"
    error_message = "The compute environment must be managed by Batch."
  }

  assert {
    condition     = aws_batch_compute_environment.this.compute_resources[0].type == "EC2"
    error_message = "compute_type EC2 must give an EC2 compute environment."
  }

  assert {
    condition     = aws_batch_compute_environment.this.compute_resources[0].allocation_strategy == "BEST_FIT_PROGRESSIVE"
    error_message = "On-demand instances must use BEST_FIT_PROGRESSIVE."
  }

  assert {
    condition     = aws_batch_compute_environment.this.compute_resources[0].min_vcpus == 0
    error_message = "min vCPUs must be 0 so the environment scales to nothing between runs."
  }

  assert {
    condition     = aws_batch_compute_environment.this.compute_resources[0].max_vcpus == 64
    error_message = "max vCPUs must come from max_vcpus."
  }

  assert {
    condition     = aws_batch_compute_environment.this.compute_resources[0].instance_type == toset(["m6i.xlarge", "m6i.2xlarge"])
    error_message = "Instance types must come from instance_types."
  }

  assert {
    condition     = length(aws_launch_template.batch) == 1 && length(aws_batch_compute_environment.this.compute_resources[0].launch_template) == 1
    error_message = "EC2 instances must be launched from the launch template."
  }

  assert {
    condition     = aws_batch_compute_environment.this.compute_resources[0].instance_role == "arn:aws:iam::123456789012:instance-profile/mass-ingest-batch-instance"
    error_message = "EC2 instances must run with the ECS instance profile."
  }

  assert {
    condition     = aws_batch_compute_environment.this.compute_resources[0].subnets == toset(var.subnet_ids)
    error_message = "The compute environment must use the given subnets."
  }

  assert {
    condition     = alltrue([for job in aws_batch_job_definition.this : job.platform_capabilities == toset(["EC2"])])
    error_message = "On EC2 every job definition must declare the EC2 platform."
  }
}

run "spot_uses_price_capacity_optimized_allocation" {
  command = plan

  variables {
    compute_type = "SPOT"
  }

  assert {
    condition     = aws_batch_compute_environment.this.compute_resources[0].type == "SPOT"
    error_message = "compute_type SPOT must give a SPOT compute environment."
  }

  assert {
    condition     = aws_batch_compute_environment.this.compute_resources[0].allocation_strategy == "SPOT_PRICE_CAPACITY_OPTIMIZED"
    error_message = "Spot must use SPOT_PRICE_CAPACITY_OPTIMIZED."
  }

  assert {
    condition     = aws_batch_compute_environment.this.compute_resources[0].min_vcpus == 0
    error_message = "min vCPUs must be 0 on Spot too."
  }

  assert {
    condition     = length(aws_batch_compute_environment.this.compute_resources[0].launch_template) == 1
    error_message = "Spot instances must be launched from the launch template."
  }

  assert {
    condition     = alltrue([for job in aws_batch_job_definition.this : job.platform_capabilities == toset(["EC2"])])
    error_message = "On SPOT every job definition must declare the EC2 platform."
  }
}

run "fargate_has_no_instances_and_fargate_job_definitions" {
  command = plan

  variables {
    compute_type         = "FARGATE"
    root_volume_size_gib = 150
    assign_public_ip     = true
  }

  assert {
    condition     = aws_batch_compute_environment.this.compute_resources[0].type == "FARGATE"
    error_message = "compute_type FARGATE must give a FARGATE compute environment."
  }

  assert {
    condition     = aws_batch_compute_environment.this.compute_resources[0].allocation_strategy == null && aws_batch_compute_environment.this.compute_resources[0].min_vcpus == null && aws_batch_compute_environment.this.compute_resources[0].instance_type == null
    error_message = "Fargate takes no allocation strategy, min vCPUs or instance types."
  }

  assert {
    condition     = length(aws_launch_template.batch) == 0 && length(aws_iam_instance_profile.batch) == 0 && length(aws_iam_role.batch_instance) == 0
    error_message = "Fargate needs no launch template and no instance role."
  }

  assert {
    condition     = alltrue([for job in aws_batch_job_definition.this : job.platform_capabilities == toset(["FARGATE"])])
    error_message = "On FARGATE every job definition must declare the FARGATE platform."
  }

  assert {
    condition = alltrue([for job in aws_batch_job_definition.this : jsondecode(job.container_properties).networkConfiguration == { assignPublicIp = "ENABLED" }
    && jsondecode(job.container_properties).fargatePlatformConfiguration == { platformVersion = "LATEST" }])
    error_message = "Fargate job definitions need networkConfiguration (from assign_public_ip) and fargatePlatformConfiguration."
  }

  assert {
    condition     = alltrue([for job in aws_batch_job_definition.this : jsondecode(job.container_properties).ephemeralStorage == { sizeInGiB = 150 }])
    error_message = "Fargate jobs' disk must come from root_volume_size_gib as ephemeral storage."
  }

  assert {
    condition = jsondecode(aws_batch_job_definition.this["processor"].container_properties).resourceRequirements == [
      { type = "VCPU", value = "4" },
      { type = "MEMORY", value = "15360" },
    ]
    error_message = "Fargate needs vCPU and memory as resourceRequirements."
  }
}

run "ec2_job_definitions_carry_no_fargate_settings" {
  command = plan

  variables {
    compute_type = "EC2"
  }

  assert {
    condition = alltrue([for job in aws_batch_job_definition.this : !contains(keys(jsondecode(job.container_properties)), "networkConfiguration")
    && !contains(keys(jsondecode(job.container_properties)), "fargatePlatformConfiguration")])
    error_message = "EC2 job definitions must not carry Fargate-only settings (Batch rejects them)."
  }
}

run "launch_template_requires_imdsv2_with_hop_limit_1_and_an_encrypted_root_volume" {
  command = plan

  variables {
    compute_type         = "SPOT"
    root_volume_size_gib = 250
  }

  assert {
    condition     = aws_launch_template.batch[0].metadata_options[0].http_tokens == "required"
    error_message = "IMDSv2 must be required."
  }

  assert {
    condition     = aws_launch_template.batch[0].metadata_options[0].http_put_response_hop_limit == 1
    error_message = "The metadata hop limit must be 1 so that containers cannot reach the instance's credentials."
  }

  assert {
    condition     = aws_launch_template.batch[0].block_device_mappings[0].device_name == "/dev/xvda"
    error_message = "The root volume of the ECS-optimized AMI is /dev/xvda."
  }

  assert {
    condition     = aws_launch_template.batch[0].block_device_mappings[0].ebs[0].encrypted == "true"
    error_message = "The root volume must be encrypted."
  }

  assert {
    condition     = aws_launch_template.batch[0].block_device_mappings[0].ebs[0].volume_size == 250
    error_message = "The root volume size must come from root_volume_size_gib."
  }
}

run "security_group_allows_egress_only" {
  command = plan

  assert {
    condition     = length(aws_security_group.batch.ingress) == 0
    error_message = "Nothing may connect in to the jobs."
  }

  assert {
    condition     = length(aws_security_group.batch.egress) == 1 && toset(one(aws_security_group.batch.egress).cidr_blocks) == toset(["0.0.0.0/0"])
    error_message = "Jobs need egress to git hosts, the registry, the publish target and the database."
  }

  assert {
    condition     = aws_security_group.batch.vpc_id == "vpc-0123456789abcdef0"
    error_message = "The security group must be in vpc_id."
  }

  assert {
    condition     = aws_batch_compute_environment.this.compute_resources[0].security_group_ids == toset(["sg-0123456789abcdef0"])
    error_message = "The compute environment must use the egress-only security group."
  }
}

run "one_queue_runs_on_the_compute_environment" {
  command = plan

  assert {
    condition     = aws_batch_job_queue.this.name == "mass-ingest" && aws_batch_job_queue.this.state == "ENABLED"
    error_message = "The queue must be named after var.name and enabled."
  }

  assert {
    condition     = length(aws_batch_job_queue.this.compute_environment_order) == 1 && aws_batch_job_queue.this.compute_environment_order[0].compute_environment == aws_batch_compute_environment.this.arn
    error_message = "The queue must use exactly the one compute environment."
  }

  assert {
    condition     = alltrue([for action in aws_batch_job_queue.this.job_state_time_limit_action : action.state == "RUNNABLE" && startswith(action.reason, "MISCONFIGURATION:")])
    error_message = "Only jobs that can never be placed may be cancelled from RUNNABLE."
  }
}
