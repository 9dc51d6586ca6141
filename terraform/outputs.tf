################################################################################
# Job queue
################################################################################

output "job_queue_name" {
  description = "Name of the job queue (JOB_QUEUE of the jobs)."
  value       = aws_batch_job_queue.this.name
}

output "job_queue_arn" {
  description = "ARN of the job queue."
  value       = aws_batch_job_queue.this.arn
}

output "compute_environment_arn" {
  description = "ARN of the compute environment behind the queue."
  value       = aws_batch_compute_environment.this.arn
}

################################################################################
# Job definitions
################################################################################

output "chunk_job_definition_name" {
  description = "Name of the chunk job definition; submitting by name uses its latest active revision."
  value       = aws_batch_job_definition.this["chunk"].name
}

output "chunk_job_definition_arn" {
  description = "ARN of the chunk job definition's current revision."
  value       = aws_batch_job_definition.this["chunk"].arn
}

output "processor_job_definition_name" {
  description = "Name of the processor job definition (JOB_DEFINITION of the chunk job)."
  value       = aws_batch_job_definition.this["processor"].name
}

output "processor_job_definition_arn" {
  description = "ARN of the processor job definition's current revision."
  value       = aws_batch_job_definition.this["processor"].arn
}

output "report_job_definition_name" {
  description = "Name of the report job definition (REPORT_JOB_DEFINITION of the chunk job)."
  value       = aws_batch_job_definition.this["report"].name
}

output "report_job_definition_arn" {
  description = "ARN of the report job definition's current revision."
  value       = aws_batch_job_definition.this["report"].arn
}

output "submit_job_command" {
  description = "A manual run: submits the chunk job as the schedule does."
  value       = "aws batch submit-job --region ${var.region} --job-name ${var.name}-manual --job-queue ${aws_batch_job_queue.this.name} --job-definition ${aws_batch_job_definition.this["chunk"].name}"
}

################################################################################
# Logs
################################################################################

output "log_group_name" {
  description = "CloudWatch Logs group of every job (streams chunk/…, processor/…, report/…)."
  value       = aws_cloudwatch_log_group.jobs.name
}

################################################################################
# Schedule
################################################################################

output "schedule_name" {
  description = "Name of the EventBridge Scheduler schedule that submits the chunk job."
  value       = aws_scheduler_schedule.chunk.name
}

output "schedule_dead_letter_queue_url" {
  description = "SQS queue that receives the schedule's failed submissions."
  value       = aws_sqs_queue.schedule_dead_letter.url
}
