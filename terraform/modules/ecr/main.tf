# ECR: the backend's image repository. Tags are immutable so a tag always
# names one build; every push is scanned; old images expire, except those a deploy ran.

resource "aws_ecr_repository" "this" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [
      {
        # Every image a deploy ran carries a deployed-<environment>-<time> tag (deploy/flow.py).
        # Matched here, it can never be expired by the rules below (ECR's evaluation rules), so
        # the running image and every rollback target stay; this rule expires none of them
        # while fewer than 9999 exist.
        rulePriority = 1
        description  = "Keep every image a deploy ran"
        selection = {
          tagStatus     = "tagged"
          tagPrefixList = ["deployed-"]
          countType     = "imageCountMoreThan"
          countNumber   = 9999
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Expire untagged images after ${var.untagged_expiry_days} days"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.untagged_expiry_days
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 3
        description  = "Keep the newest ${var.keep_images} images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.keep_images
        }
        action = { type = "expire" }
      },
    ]
  })
}
