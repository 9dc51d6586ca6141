################################################################################
# Compute environment
################################################################################

locals {
  uses_instances = var.compute_type != "FARGATE"

  allocation_strategy = {
    EC2     = "BEST_FIT_PROGRESSIVE"
    SPOT    = "SPOT_PRICE_CAPACITY_OPTIMIZED"
    FARGATE = null
  }[var.compute_type]
}

resource "aws_security_group" "batch" {
  name_prefix = "${var.name}-batch-"
  description = "mass-ingest Batch jobs: egress only (git hosts, image registry, publish target, database)"
  vpc_id      = var.vpc_id

  egress {
    description      = "Clone, pull, publish and record anywhere; nothing connects in"
    from_port        = 0
    to_port          = 0
    protocol         = "-1"
    cidr_blocks      = ["0.0.0.0/0"]
    ipv6_cidr_blocks = ["::/0"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_launch_template" "batch" {
  count = local.uses_instances ? 1 : 0

  name_prefix            = "${var.name}-batch-"
  description            = "mass-ingest Batch instances: IMDSv2 only, encrypted root volume"
  update_default_version = true

  # Hop limit 1: a container is one network hop further than the host, so jobs cannot reach
  # the instance's credentials; they get their own job role from the ECS agent instead.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  # Docker's storage lives on the root volume of the ECS-optimized AMI: clones and builds fill it.
  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = var.root_volume_size_gib
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge({ Name = "${var.name}-batch", Application = var.name }, var.tags)
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge({ Name = "${var.name}-batch", Application = var.name }, var.tags)
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_batch_compute_environment" "this" {
  compute_environment_name_prefix = "${var.name}-${lower(var.compute_type)}-"
  type                            = "MANAGED"
  state                           = "ENABLED"
  service_role                    = var.batch_service_role_arn

  compute_resources {
    type                = var.compute_type
    allocation_strategy = local.allocation_strategy
    max_vcpus           = var.max_vcpus
    min_vcpus           = local.uses_instances ? 0 : null
    instance_type       = local.uses_instances ? var.instance_types : null
    instance_role       = local.uses_instances ? aws_iam_instance_profile.batch[0].arn : null
    subnets             = var.subnet_ids
    security_group_ids  = [aws_security_group.batch.id]

    dynamic "launch_template" {
      for_each = aws_launch_template.batch

      content {
        launch_template_id = launch_template.value.id
        version            = launch_template.value.latest_version
      }
    }

    dynamic "ec2_configuration" {
      for_each = local.uses_instances ? ["ECS_AL2023"] : []

      content {
        image_type = ec2_configuration.value
      }
    }
  }

  # A replacement is created and swapped into the queue before the old one goes, so a change
  # never leaves the queue without a compute environment.
  lifecycle {
    create_before_destroy = true
    ignore_changes        = [compute_resources[0].desired_vcpus]

    # A job asking for more vCPUs than the environment may ever run waits RUNNABLE until the
    # queue cancels it (job_state_time_limit_action below): refuse the plan instead.
    precondition {
      condition     = var.max_vcpus >= max(var.chunk_vcpu, var.processor_vcpu, var.report_vcpu)
      error_message = "max_vcpus = ${var.max_vcpus} is less than the largest job (chunk_vcpu ${var.chunk_vcpu}, processor_vcpu ${var.processor_vcpu}, report_vcpu ${var.report_vcpu}): such a job could never start. Raise max_vcpus to at least ${max(var.chunk_vcpu, var.processor_vcpu, var.report_vcpu)}."
    }
  }

  depends_on = [aws_iam_role_policy_attachment.batch_instance]
}

################################################################################
# Job queue
################################################################################

resource "aws_batch_job_queue" "this" {
  name     = var.name
  state    = "ENABLED"
  priority = 1

  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.this.arn
  }

  # A job that no instance type or vCPU limit can ever fit would wait RUNNABLE forever.
  job_state_time_limit_action {
    action           = "CANCEL"
    state            = "RUNNABLE"
    reason           = "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"
    max_time_seconds = 600
  }

  job_state_time_limit_action {
    action           = "CANCEL"
    state            = "RUNNABLE"
    reason           = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"
    max_time_seconds = 600
  }
}
