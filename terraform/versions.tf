################################################################################
# Versions
################################################################################

terraform {
  # Applying needs 1.9 (validations that read other variables and locals); running tests/ needs
  # 1.11 (mock values during plan: override_during).
  required_version = ">= 1.9"

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
