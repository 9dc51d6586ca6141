################################################################################
# Shared values
################################################################################

# Derived from the provider's region, without calling AWS.
data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition

  # Read off the queue's ARN rather than from sts:GetCallerIdentity, so planning calls no AWS API.
  account_id = split(":", aws_batch_job_queue.this.arn)[4]

  job_definition_names = {
    chunk     = "${var.name}-chunk"
    processor = "${var.name}-processor"
    report    = "${var.name}-report"
  }

  # s3://bucket/prefix → the processor writes under prefix/, the report under prefix/_runs/.
  publish_s3 = startswith(var.publish_url, "s3://") ? {
    bucket = regex("^s3://([^/]+)/", var.publish_url)[0]
    prefix = trimsuffix(regex("^s3://[^/]+/(.+)$", var.publish_url)[0], "/")
  } : null

  # A full Secrets Manager ARN (with the 6-character suffix; an optional JSON key and version
  # after it) or an SSM parameter ARN: the *_secret_arn variables' validation.
  secret_arn_pattern = "^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[^\\s:]+-[A-Za-z0-9]{6}(:[^\\s:]*:[^\\s:]*:[^\\s:]*)?|ssm:[a-z0-9-]+:[0-9]{12}:parameter/[^\\s]+)$"

  # Secrets the jobs receive through `secrets` (never `environment`), each only when its ARN is set.
  secret_arns = { for name, arn in {
    DATABASE_URL     = var.database_url_secret_arn
    GIT_CREDENTIALS  = var.git_credentials_secret_arn
    GIT_SSH_KEY      = var.git_ssh_key_secret_arn
    GITHUB_TOKENS    = var.github_tokens_secret_arn
    PUBLISH_PASSWORD = var.publish_password_secret_arn
    PUBLISH_TOKEN    = var.publish_token_secret_arn
  } : name => arn if arn != null }
}

################################################################################
# Checks
################################################################################

# A moving tag lets one night's jobs run different images (Batch pulls at each job's start) and
# hides which build recorded what. A warning, not a refusal: a test stack may want it.
check "image_is_pinned" {
  assert {
    condition     = !endswith(var.image, ":latest")
    error_message = "image uses the tag latest: jobs of one run may start different builds of mass-ingest. Push a version tag (e.g. :1.0.0) or pin the digest (@sha256:…)."
  }
}

check "database_is_shared" {
  assert {
    condition     = var.database_url_secret_arn != null
    error_message = "database_url_secret_arn is not set: each job would record into its own throwaway embedded database, so runs, reports and `--only failed` reruns see nothing. Store DATABASE_URL in Secrets Manager and set its ARN."
  }
}
