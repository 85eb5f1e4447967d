# The provider this module is written and tested against (3.39 is what loono-infra bundles).
terraform {
  required_version = ">= 1.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 3.39, < 4.0"
    }
  }
}
