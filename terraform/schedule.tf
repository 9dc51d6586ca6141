################################################################################
# Schedule
################################################################################

# Submissions the scheduler could not make (SubmitJob refused, or failing past the retries) land
# here instead of vanishing; docs/deploy.md shows how to read them.
resource "aws_sqs_queue" "schedule_dead_letter" {
  name                      = "${var.name}-schedule-dlq"
  message_retention_seconds = 1209600 # 14 days, SQS's maximum
  sqs_managed_sse_enabled   = true
}

resource "aws_scheduler_schedule" "chunk" {
  name                         = "${var.name}-nightly"
  description                  = "Submits the mass-ingest chunk job, which plans and submits the processor jobs"
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = var.schedule_timezone
  state                        = var.schedule_enabled ? "ENABLED" : "DISABLED"

  flexible_time_window {
    mode = "OFF"
  }

  # The universal target calls batch:SubmitJob with `input` as the request (the provider has no
  # Batch-specific target parameters). The definition is given by name: its latest active revision.
  # The command is the definition's own, its parameters filled in, plus `--trigger schedule` so
  # the run is recorded as scheduled (DESIGN §7).
  target {
    arn      = "arn:${local.partition}:scheduler:::aws-sdk:batch:submitJob"
    role_arn = aws_iam_role.scheduler.arn
    input = jsonencode({
      JobName       = "${var.name}-scheduled"
      JobQueue      = aws_batch_job_queue.this.name
      JobDefinition = local.job_definition_names.chunk
      ContainerOverrides = {
        Command = concat(
          [for arg in local.jobs.chunk.command : startswith(arg, "Ref::") ? local.jobs.chunk.parameters[trimprefix(arg, "Ref::")] : arg],
          ["--trigger", "schedule"],
        )
      }
    })

    retry_policy {
      maximum_retry_attempts       = var.schedule_retry_attempts
      maximum_event_age_in_seconds = 3600
    }

    dead_letter_config {
      arn = aws_sqs_queue.schedule_dead_letter.arn
    }
  }

  # The definition must exist before the first submit.
  depends_on = [aws_batch_job_definition.this]
}
