################################################################################
# Versions
################################################################################

terraform {
  # 1.6 brought `terraform test`; mock providers (tests/) need 1.7 to run, not to apply.
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }
}

################################################################################
# Provider
################################################################################

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Application = var.name }, var.tags)
  }
}
