################################################################################
# Logs
################################################################################

# Every job writes its JSON log lines here, one stream per attempt under <job>/ (awslogs-stream-prefix).
resource "aws_cloudwatch_log_group" "jobs" {
  name              = "/aws/batch/${var.name}"
  retention_in_days = var.log_retention_days
}
