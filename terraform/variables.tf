################################################################################
# General
################################################################################

variable "name" {
  description = "Prefix of every resource name: the job queue is called this, the job definitions <name>-chunk, <name>-processor and <name>-report."
  type        = string
  default     = "mass-ingest"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,31}$", var.name))
    error_message = "name must start with a letter and hold at most 32 letters, digits or hyphens (it prefixes IAM role and Batch names), e.g. \"mass-ingest\"."
  }
}

variable "region" {
  description = "AWS region to deploy into; also given to the jobs as AWS_REGION (the containers cannot reach instance metadata to find it)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region code such as \"eu-west-1\" or \"us-east-1\"."
  }
}

variable "tags" {
  description = "Tags added to every resource (through the provider's default_tags)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key in keys(var.tags) : !startswith(lower(key), "aws:")])
    error_message = "tags must not use the reserved \"aws:\" key prefix: rename those keys."
  }
}

################################################################################
# Network and compute
################################################################################

variable "vpc_id" {
  description = "VPC of the subnets; the compute environment's security group is created in it."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must be a VPC id such as \"vpc-0123456789abcdef0\" (aws ec2 describe-vpcs lists them)."
  }
}

variable "subnet_ids" {
  description = "Subnets the jobs run in. They need a route to the internet (a NAT gateway for private subnets) to clone, pull the image and publish."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0 && alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "subnet_ids must list at least one subnet id such as \"subnet-0123456789abcdef0\"; use several availability zones for Spot capacity."
  }
}

variable "compute_type" {
  description = "What the compute environment runs on: EC2 (on-demand instances), SPOT (Spot instances, cheapest; interrupted jobs are retried) or FARGATE (no instances to manage)."
  type        = string
  default     = "SPOT"

  validation {
    condition     = contains(["EC2", "SPOT", "FARGATE"], var.compute_type)
    error_message = "compute_type must be one of EC2, SPOT or FARGATE (upper case)."
  }
}

variable "max_vcpus" {
  description = "Most vCPUs the compute environment may run at once; with min vCPUs 0 it scales to nothing between runs. Processor jobs in parallel = max_vcpus / processor_vcpu."
  type        = number
  default     = 256

  validation {
    condition     = var.max_vcpus >= 1 && var.max_vcpus == floor(var.max_vcpus)
    error_message = "max_vcpus must be a whole number of at least 1 (and at least the largest of chunk_vcpu, processor_vcpu and report_vcpu, which the plan checks too)."
  }
}

variable "instance_types" {
  description = "EC2 instance types or families Batch may launch (EC2 and SPOT only). Several families give Spot more capacity pools."
  type        = list(string)
  default     = ["m6i", "m6a", "m5", "r6i", "c6i"]

  validation {
    condition     = length(var.instance_types) > 0 && alltrue([for type in var.instance_types : can(regex("^[a-z0-9][a-z0-9.-]*$", type))])
    error_message = "instance_types must list at least one instance type or family such as \"m6i\", \"m6i.xlarge\" or \"optimal\"."
  }
}

variable "root_volume_size_gib" {
  description = "Disk per instance in GiB (EC2/SPOT: the encrypted root volume shared by the jobs on an instance; FARGATE: each job's ephemeral storage, 30 to 200). Clones and builds need room."
  type        = number
  default     = 100

  validation {
    condition     = var.root_volume_size_gib >= 30 && var.root_volume_size_gib <= 16384 && var.root_volume_size_gib == floor(var.root_volume_size_gib)
    error_message = "root_volume_size_gib must be a whole number of GiB from 30 (the ECS-optimized AMI's own size) to 16384."
  }
}

variable "assign_public_ip" {
  description = "FARGATE only: give each job a public IP. Needed in public subnets without a NAT gateway (else the image cannot be pulled); keep false in private subnets."
  type        = bool
  default     = false
}

variable "batch_service_role_arn" {
  description = "IAM role AWS Batch itself uses. null uses the service-linked role AWSServiceRoleForBatch, which Batch creates when needed."
  type        = string
  default     = null

  validation {
    condition     = var.batch_service_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.batch_service_role_arn))
    error_message = "batch_service_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), or null to use the service-linked role."
  }
}

################################################################################
# Job definitions
################################################################################

variable "image" {
  description = "Container image of mass-ingest (its ENTRYPOINT is the CLI), pinned by tag or digest, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/mass-ingest:1.0.0."
  type        = string

  validation {
    condition     = can(regex("^[^\\s]+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$", var.image))
    error_message = "image must be an image reference with a tag or digest, e.g. \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/mass-ingest:1.0.0\"; push the image first (docs/deploy.md)."
  }
}

variable "inventory_uri" {
  description = "The repos.csv the nightly run reads: s3://bucket/key or an http(s):// URL. The jobs' roles may read it when it is on S3."
  type        = string

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+$", var.inventory_uri)) || can(regex("^https?://.+", var.inventory_uri))
    error_message = "inventory_uri must be s3://<bucket>/<key> (e.g. s3://my-bucket/repos.csv) or an http(s):// URL."
  }

  # It is a job parameter and part of the schedule's input: both plain text, like the state.
  validation {
    condition     = !can(regex("^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*@", var.inventory_uri))
    error_message = "inventory_uri must not hold credentials (user:token@host): the URI is stored in plain text in the job definitions, the schedule and the Terraform state. Put a private inventory on S3 (the jobs' roles may read it)."
  }
}

variable "extra_inventory_uris" {
  description = "More s3:// inventories the chunk and processor jobs may read besides inventory_uri, e.g. [\"s3://my-bucket/reruns/*\"] for reruns of failed rows (docs/deploy.md). A trailing * covers a prefix."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for uri in var.extra_inventory_uris : can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^*]+\\*?$", uri))])
    error_message = "extra_inventory_uris must list s3://<bucket>/<key> URIs, or s3://<bucket>/<prefix>/* for a prefix (the only * allowed is a trailing one)."
  }
}

variable "s3_kms_key_arns" {
  description = "Customer-managed KMS keys that encrypt the inventory and artifact buckets (SSE-KMS default encryption). The jobs may use them only through S3: chunk and processor decrypt inventories, the processor reads and writes artifacts, the report writes its pages. Empty for SSE-S3 or AWS-managed keys."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.s3_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-)?[0-9a-f-]+$", arn))])
    error_message = "s3_kms_key_arns must list KMS key ARNs (arn:aws:kms:<region>:<account>:key/<key-id>; not aliases): `aws s3api get-bucket-encryption --bucket <bucket>` shows a bucket's key."
  }
}

variable "publish_url" {
  description = "Where artifacts are published (PUBLISH_URL): s3://bucket/prefix (the processor may write only under the prefix, the report only under <prefix>/_runs/) or an http(s):// repository."
  type        = string

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^/].*$", var.publish_url)) || can(regex("^https?://.+", var.publish_url))
    error_message = "publish_url must be s3://<bucket>/<prefix> with a non-empty prefix (e.g. s3://my-artifacts/mass-ingest) or an http(s):// URL."
  }

  # PUBLISH_URL is plain job-definition environment, readable by anyone who may describe it.
  validation {
    condition     = !can(regex("^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*@", var.publish_url))
    error_message = "publish_url must not hold credentials (user:password@host): the URL is stored in plain text in the job definitions and the Terraform state. Set publish_user plus publish_password_secret_arn, or publish_token_secret_arn, instead."
  }
}

variable "publish_user" {
  description = "User for basic auth to an http(s) publish_url (PUBLISH_USER; not a secret). Its password goes in publish_password_secret_arn."
  type        = string
  default     = null

  validation {
    condition     = var.publish_user == null || can(regex("^[^\\s]+$", var.publish_user))
    error_message = "publish_user must be a non-empty user name without spaces, or null."
  }
}

variable "publish_layout" {
  description = "Publishing layout (PUBLISH_LAYOUT): default (<origin>/<path>/<sha>/) or maven."
  type        = string
  default     = "default"

  validation {
    condition     = contains(["default", "maven"], var.publish_layout)
    error_message = "publish_layout must be \"default\" or \"maven\"."
  }
}

variable "partition_size" {
  description = "Repositories per processor job (PARTITION_SIZE and the chunk job's partitionSize parameter)."
  type        = number
  default     = 50

  validation {
    condition     = var.partition_size >= 1 && var.partition_size <= 100000 && var.partition_size == floor(var.partition_size)
    error_message = "partition_size must be a whole number from 1 to 100000."
  }
}

variable "build_timeout_seconds" {
  description = "Seconds one repository's build may take before its process tree is killed (BUILD_TIMEOUT)."
  type        = number
  default     = 1800

  validation {
    condition     = var.build_timeout_seconds >= 60 && var.build_timeout_seconds <= 2147483 && var.build_timeout_seconds == floor(var.build_timeout_seconds)
    error_message = "build_timeout_seconds must be a whole number from 60 to 2147483 (24 days: the longest timer the processor can set)."
  }
}

variable "clone_timeout_seconds" {
  description = "Seconds one repository's clone may take, its submodules and LFS files included, before it is stopped as clone_failed/git_clone_timeout (CLONE_TIMEOUT); git silent for 5 minutes is stopped sooner."
  type        = number
  default     = 1800

  validation {
    condition     = var.clone_timeout_seconds >= 60 && var.clone_timeout_seconds <= 2147483 && var.clone_timeout_seconds == floor(var.clone_timeout_seconds)
    error_message = "clone_timeout_seconds must be a whole number from 60 to 2147483 (24 days: the longest timer the processor can set)."
  }
}

variable "publish_timeout_seconds" {
  description = "Seconds without progress before a publish attempt is given up (PUBLISH_TIMEOUT; the attempt's deadline is twice that plus 4 s per MiB). After publish_fail_fast_after attempts in a row without an answer, the rest of a partition fails fast with publish_target_down."
  type        = number
  default     = 30

  validation {
    condition     = var.publish_timeout_seconds >= 1 && var.publish_timeout_seconds <= 3600 && var.publish_timeout_seconds == floor(var.publish_timeout_seconds)
    error_message = "publish_timeout_seconds must be a whole number from 1 to 3600."
  }
}

variable "publish_fail_fast_after" {
  description = "Publish attempts in a row without an answer (timeouts, refused connections) before a processor skips the publish target: the rest of its partition fails fast with publish_target_down instead of waiting on every repository (PUBLISH_FAIL_FAST_AFTER). 0 never skips the target."
  type        = number
  default     = 4
  nullable    = false

  validation {
    condition     = var.publish_fail_fast_after >= 0 && var.publish_fail_fast_after <= 1000 && var.publish_fail_fast_after == floor(var.publish_fail_fast_after)
    error_message = "publish_fail_fast_after must be a whole number from 0 to 1000: the attempts in a row without an answer before the target is skipped (default 4), or 0 to never skip it."
  }
}

variable "publish_fail_fast_for_seconds" {
  description = "Seconds a processor skips a publish target that stopped answering before one request tries it again (PUBLISH_FAIL_FAST_FOR): an answer of any status ends the skip, no answer skips it for this long again."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.publish_fail_fast_for_seconds >= 1 && var.publish_fail_fast_for_seconds <= 86400 && var.publish_fail_fast_for_seconds == floor(var.publish_fail_fast_for_seconds)
    error_message = "publish_fail_fast_for_seconds must be a whole number of seconds from 1 to 86400 (default 60); to never skip the target set publish_fail_fast_after = 0 instead."
  }
}

variable "results_retention_days" {
  description = "Days a run's results are kept: the chunk job removes older runs (their partitions and repository_results rows) after submitting each night's (RESULTS_RETENTION_DAYS); the newest results_keep_runs stay whatever their age, and the repositories table (what the incremental skip reads) is never pruned. null keeps every run."
  type        = number
  default     = null

  validation {
    condition     = var.results_retention_days == null || try(var.results_retention_days >= 1 && var.results_retention_days == floor(var.results_retention_days), false)
    error_message = "results_retention_days must be a whole number of days, at least 1 (e.g. 90), or null to keep every run."
  }
}

variable "results_keep_runs" {
  description = "With results_retention_days: the newest runs kept whatever their age (RESULTS_KEEP_RUNS), so that `report --run last`, `chunk --only failed --run last` and `report --trend` always find them."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.results_keep_runs >= 1 && var.results_keep_runs == floor(var.results_keep_runs)
    error_message = "results_keep_runs must be a whole number, at least 1 (default 10)."
  }
}

variable "build_user" {
  description = "The unprivileged user(s) of the image the processor starts builds as (BUILD_USER); the processor itself then runs as root, so a build cannot read its environment (DATABASE_URL, GIT_CREDENTIALS, PUBLISH_PASSWORD) or git's credential files. With processor_concurrency above 1, name one user per concurrent build (a uid range such as \"10001-10004\", or names and uids separated by commas) so that builds cannot change each other's clones. null runs the processor and the builds as the image's user (node), with nothing between a build and those secrets."
  type        = string
  default     = "node"

  validation {
    condition     = var.build_user == null || can(regex("^([A-Za-z_][A-Za-z0-9_.-]{0,31}|[1-9][0-9]{0,9}(:[0-9]{1,10})?|[1-9][0-9]{0,9}-[1-9][0-9]{0,9})(,([A-Za-z_][A-Za-z0-9_.-]{0,31}|[1-9][0-9]{0,9}(:[0-9]{1,10})?|[1-9][0-9]{0,9}-[1-9][0-9]{0,9}))*$", var.build_user))
    error_message = "build_user must be a user name of the image (e.g. node), a non-zero uid or uid:gid, a uid range (10001-10004), several of these separated by commas, or null."
  }

  validation {
    condition     = var.build_user == null || !contains(split(",", coalesce(var.build_user, "-")), "root")
    error_message = "build_user must not be root: name unprivileged users of the image, e.g. node, or null."
  }
}

variable "processor_concurrency" {
  description = "Repositories each processor job works on at once (CONCURRENCY): clones, builds and uploads overlap. Give build_user one user per concurrent build."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.processor_concurrency >= 1 && var.processor_concurrency <= 64 && var.processor_concurrency == floor(var.processor_concurrency)
    error_message = "processor_concurrency must be a whole number from 1 to 64 (default 1)."
  }
}

variable "submodules" {
  description = "Whether processors check out the submodules each repository pins, shallow and recursively (SUBMODULES): \"recursive\" (default: fetched without the processor's git credentials, so a repository cannot make it fetch private repositories the credentials can read), \"recursive-with-credentials\" (private submodules of your own repositories) or \"none\"."
  type        = string
  default     = "recursive"
  nullable    = false

  validation {
    condition     = contains(["recursive", "recursive-with-credentials", "none"], var.submodules)
    error_message = "submodules must be \"recursive\", \"recursive-with-credentials\" or \"none\"."
  }
}

variable "lfs" {
  description = "Whether processors fetch each repository's Git LFS files after the clone (LFS): \"skip\" (default: pointers stay pointers; LFS downloads count against the hosting account's bandwidth quota) or \"fetch\" (the image needs git-lfs: docker build --build-arg INSTALL_GIT_LFS=true)."
  type        = string
  default     = "skip"
  nullable    = false

  validation {
    condition     = contains(["fetch", "skip"], var.lfs)
    error_message = "lfs must be \"fetch\" or \"skip\"."
  }
}

variable "retry_attempts" {
  description = "Attempts per job, the first included. Only Spot/host losses (Host EC2*) and exit code 3 are retried; every other failure exits at once."
  type        = number
  default     = 3

  validation {
    condition     = var.retry_attempts >= 1 && var.retry_attempts <= 10 && var.retry_attempts == floor(var.retry_attempts)
    error_message = "retry_attempts must be a whole number from 1 to 10 (AWS Batch's range)."
  }
}

variable "chunk_vcpu" {
  description = "vCPUs of the chunk job (it plans partitions and submits jobs). Whole numbers; FARGATE also takes 0.25 and 0.5."
  type        = number
  default     = 1

  validation {
    condition     = contains([0.25, 0.5], var.chunk_vcpu) || (var.chunk_vcpu >= 1 && var.chunk_vcpu <= 192 && var.chunk_vcpu == floor(var.chunk_vcpu))
    error_message = "chunk_vcpu must be 0.25, 0.5 (FARGATE only) or a whole number from 1 to 192."
  }
}

variable "chunk_memory_mib" {
  description = "Memory of the chunk job in MiB."
  type        = number
  default     = 2048

  validation {
    condition     = var.chunk_memory_mib >= 512 && var.chunk_memory_mib == floor(var.chunk_memory_mib)
    error_message = "chunk_memory_mib must be a whole number of MiB, at least 512."
  }
}

variable "chunk_timeout_seconds" {
  description = "Seconds one attempt of the chunk job may run before Batch stops it."
  type        = number
  default     = 3600

  validation {
    condition     = var.chunk_timeout_seconds >= 60 && var.chunk_timeout_seconds == floor(var.chunk_timeout_seconds)
    error_message = "chunk_timeout_seconds must be a whole number of at least 60 (AWS Batch's minimum)."
  }
}

variable "processor_vcpu" {
  description = "vCPUs of each processor job (one partition: clone, build, publish). Whole numbers; FARGATE also takes 0.25 and 0.5."
  type        = number
  default     = 4

  validation {
    condition     = contains([0.25, 0.5], var.processor_vcpu) || (var.processor_vcpu >= 1 && var.processor_vcpu <= 192 && var.processor_vcpu == floor(var.processor_vcpu))
    error_message = "processor_vcpu must be 0.25, 0.5 (FARGATE only) or a whole number from 1 to 192."
  }
}

variable "processor_memory_mib" {
  description = "Memory of each processor job in MiB (15360 = 15 GiB, as the original scripts used)."
  type        = number
  default     = 15360

  validation {
    condition     = var.processor_memory_mib >= 512 && var.processor_memory_mib == floor(var.processor_memory_mib)
    error_message = "processor_memory_mib must be a whole number of MiB, at least 512 (builds usually want several GiB)."
  }
}

variable "processor_timeout_seconds" {
  description = "Seconds one attempt of a processor job may run before Batch stops it (SIGTERM: the unstarted repositories are recorded as aborted)."
  type        = number
  default     = 21600

  validation {
    condition     = var.processor_timeout_seconds >= 60 && var.processor_timeout_seconds == floor(var.processor_timeout_seconds)
    error_message = "processor_timeout_seconds must be a whole number of at least 60 (AWS Batch's minimum); allow partition_size builds."
  }

  # One repository whose clone and build run to their own limits would have Batch stop the whole
  # job first: it would be recorded `aborted` with every repository after it, never
  # `clone_failed`/`git_clone_timeout` or `timed_out`.
  validation {
    condition     = var.processor_timeout_seconds > var.clone_timeout_seconds + var.build_timeout_seconds
    error_message = "processor_timeout_seconds (${var.processor_timeout_seconds}) must be longer than clone_timeout_seconds + build_timeout_seconds (${var.clone_timeout_seconds} + ${var.build_timeout_seconds}): otherwise Batch stops the job before one slow repository reaches its own time-outs, and it and every repository after it are recorded aborted."
  }
}

variable "report_vcpu" {
  description = "vCPUs of the report job. Whole numbers; FARGATE also takes 0.25 and 0.5."
  type        = number
  default     = 1

  validation {
    condition     = contains([0.25, 0.5], var.report_vcpu) || (var.report_vcpu >= 1 && var.report_vcpu <= 192 && var.report_vcpu == floor(var.report_vcpu))
    error_message = "report_vcpu must be 0.25, 0.5 (FARGATE only) or a whole number from 1 to 192."
  }
}

variable "report_memory_mib" {
  description = "Memory of the report job in MiB."
  type        = number
  default     = 2048

  validation {
    condition     = var.report_memory_mib >= 512 && var.report_memory_mib == floor(var.report_memory_mib)
    error_message = "report_memory_mib must be a whole number of MiB, at least 512."
  }
}

variable "report_timeout_seconds" {
  description = "Seconds one attempt of the report job may run before Batch stops it."
  type        = number
  default     = 1800

  validation {
    condition     = var.report_timeout_seconds >= 60 && var.report_timeout_seconds == floor(var.report_timeout_seconds)
    error_message = "report_timeout_seconds must be a whole number of at least 60 (AWS Batch's minimum)."
  }
}

################################################################################
# Secrets
################################################################################

variable "database_url_secret_arn" {
  description = "Secrets Manager secret or SSM SecureString parameter ARN holding DATABASE_URL (postgres://…). Without it every job records into its own throwaway embedded database."
  type        = string
  default     = null

  validation {
    condition     = var.database_url_secret_arn == null || can(regex(local.secret_arn_pattern, var.database_url_secret_arn))
    error_message = "database_url_secret_arn must be the full ARN of a Secrets Manager secret, with the 6-character suffix Secrets Manager adds (arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf, as `aws secretsmanager create-secret` prints it; a partial ARN cannot be granted to the execution role), or an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>), or null."
  }
}

variable "git_credentials_secret_arn" {
  description = "Secret/parameter ARN holding GIT_CREDENTIALS (lines https://user:token@host) for private repositories."
  type        = string
  default     = null

  validation {
    condition     = var.git_credentials_secret_arn == null || can(regex(local.secret_arn_pattern, var.git_credentials_secret_arn))
    error_message = "git_credentials_secret_arn must be the full ARN of a Secrets Manager secret, with the 6-character suffix Secrets Manager adds (arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf, as `aws secretsmanager create-secret` prints it; a partial ARN cannot be granted to the execution role), or an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>), or null."
  }
}

variable "git_ssh_key_secret_arn" {
  description = "Secret/parameter ARN holding GIT_SSH_KEY (a private key, OpenSSH or PEM) for ssh:// and git@host:path rows. Give the servers' host keys in git_ssh_known_hosts."
  type        = string
  default     = null

  validation {
    condition     = var.git_ssh_key_secret_arn == null || can(regex(local.secret_arn_pattern, var.git_ssh_key_secret_arn))
    error_message = "git_ssh_key_secret_arn must be the full ARN of a Secrets Manager secret, with the 6-character suffix Secrets Manager adds (arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf), or an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>), or null."
  }
}

variable "git_ssh_known_hosts" {
  description = "known_hosts lines of the git servers reached over ssh (GIT_SSH_KNOWN_HOSTS, not a secret), e.g. the output of `ssh-keyscan github.com`. With them ssh trusts those host keys only; without them an ssh clone fails with git_host_key_unknown."
  type        = string
  default     = null

  validation {
    condition     = alltrue([for line in split("\n", trimspace(coalesce(var.git_ssh_known_hosts, "#"))) : can(regex("^(@(cert-authority|revoked) )?[^\\s]+ (ssh-|ecdsa-|sk-)[^\\s]+ [A-Za-z0-9+/=]+", trimspace(line))) if trimspace(line) != "" && !startswith(trimspace(line), "#")])
    error_message = "git_ssh_known_hosts must hold known_hosts lines (<host> <key type> <base64 key>, as `ssh-keyscan <host>` prints them), or null."
  }
}

variable "publish_password_secret_arn" {
  description = "Secret/parameter ARN holding PUBLISH_PASSWORD (basic auth to an http(s) publish_url, with publish_user)."
  type        = string
  default     = null

  validation {
    condition     = var.publish_password_secret_arn == null || can(regex(local.secret_arn_pattern, var.publish_password_secret_arn))
    error_message = "publish_password_secret_arn must be the full ARN of a Secrets Manager secret, with the 6-character suffix Secrets Manager adds (arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf, as `aws secretsmanager create-secret` prints it; a partial ARN cannot be granted to the execution role), or an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>), or null."
  }
}

variable "publish_token_secret_arn" {
  description = "Secret/parameter ARN holding PUBLISH_TOKEN (bearer auth to an http(s) publish_url)."
  type        = string
  default     = null

  validation {
    condition     = var.publish_token_secret_arn == null || can(regex(local.secret_arn_pattern, var.publish_token_secret_arn))
    error_message = "publish_token_secret_arn must be the full ARN of a Secrets Manager secret, with the 6-character suffix Secrets Manager adds (arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf, as `aws secretsmanager create-secret` prints it; a partial ARN cannot be granted to the execution role), or an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>), or null."
  }
}

variable "github_tokens_secret_arn" {
  description = "Secret/parameter ARN holding GITHUB_TOKENS (comma-separated) for `discover`, run as a command override of the chunk job definition."
  type        = string
  default     = null

  validation {
    condition     = var.github_tokens_secret_arn == null || can(regex(local.secret_arn_pattern, var.github_tokens_secret_arn))
    error_message = "github_tokens_secret_arn must be the full ARN of a Secrets Manager secret, with the 6-character suffix Secrets Manager adds (arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf, as `aws secretsmanager create-secret` prints it; a partial ARN cannot be granted to the execution role), or an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>), or null."
  }
}

variable "secrets_kms_key_arn" {
  description = "Customer-managed KMS key that encrypts the secrets above; the execution role may then kms:Decrypt with it. null when they use the AWS-managed keys."
  type        = string
  default     = null

  validation {
    condition     = var.secrets_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-)?[0-9a-f-]+$", var.secrets_kms_key_arn))
    error_message = "secrets_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>; not an alias), or null."
  }
}

################################################################################
# Schedule
################################################################################

variable "schedule_expression" {
  description = "When the nightly chunk job is submitted: an EventBridge Scheduler cron() or rate() expression."
  type        = string
  default     = "cron(0 2 * * ? *)"

  validation {
    condition     = can(regex("^(cron\\(([^ ]+ ){5}[^ ]+\\)|rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\))$", var.schedule_expression))
    error_message = "schedule_expression must be cron(<6 fields>) such as \"cron(0 2 * * ? *)\" or rate(<n> <unit>) such as \"rate(1 day)\"."
  }
}

variable "schedule_timezone" {
  description = "IANA time zone the cron expression is read in, e.g. UTC or Europe/Berlin."
  type        = string
  default     = "UTC"

  validation {
    condition     = can(regex("^[A-Za-z]+(/[A-Za-z0-9_+-]+)*$", var.schedule_timezone))
    error_message = "schedule_timezone must be an IANA time zone name such as \"UTC\" or \"Europe/Berlin\"."
  }
}

variable "schedule_enabled" {
  description = "Whether the schedule submits the chunk job; false keeps everything deployed for manual runs only."
  type        = bool
  default     = true
}

variable "schedule_retry_attempts" {
  description = "How often EventBridge Scheduler retries a failed SubmitJob before it sends the event to the dead-letter queue."
  type        = number
  default     = 3

  validation {
    condition     = var.schedule_retry_attempts >= 0 && var.schedule_retry_attempts <= 185 && var.schedule_retry_attempts == floor(var.schedule_retry_attempts)
    error_message = "schedule_retry_attempts must be a whole number from 0 to 185 (EventBridge Scheduler's range)."
  }
}

################################################################################
# Logs
################################################################################

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the jobs' log lines."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}
