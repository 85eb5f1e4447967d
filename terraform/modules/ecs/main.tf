# ECS: a Fargate service behind an application load balancer. A new task
# definition replaces the old one only when its tasks pass the target group's
# health check healthy_threshold times; the circuit breaker rolls back a
# deployment that cannot get there.

locals {
  # The database reaches the container as environment (port, name: known before the database
  # exists) and as ECS secrets (host from SSM, user and password from Secrets Manager), so the
  # task definition is the same before and after the database exists.
  environment = merge(var.environment, {
    (var.database_variables.port) = tostring(var.database_port)
    (var.database_variables.name) = var.database_name
  })
  secrets = [
    { name = var.database_variables.host, valueFrom = var.database_host_parameter_arn },
    { name = var.database_variables.username, valueFrom = "${var.database_secret_arn}:username::" },
    { name = var.database_variables.password, valueFrom = "${var.database_secret_arn}:password::" },
  ]
  container_definitions = [
    {
      name         = var.container_name
      image        = var.container_image
      essential    = true
      cpu          = var.cpu
      memory       = var.memory
      portMappings = [{ containerPort = var.container_port, protocol = "tcp" }]
      environment  = [for key in sort(keys(local.environment)) : { name = key, value = local.environment[key] }]
      secrets      = local.secrets
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = var.log_group_name
          awslogs-region        = var.region
          awslogs-stream-prefix = var.container_name
        }
      }
    }
  ]
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# ECS tasks of this account only (the confused-deputy condition AWS shows for
# ecs-tasks.amazonaws.com; aws:SourceArn is documented for task roles, not execution roles).
data "aws_iam_policy_document" "tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  description        = "Lets ECS pull the image and write logs for ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

# The execution role reads exactly the database's secret and its host parameter, nothing else.
# (The secret is encrypted with the AWS managed key aws/secretsmanager: no kms:Decrypt needed.)
resource "aws_iam_role_policy" "execution_secrets" {
  name = "read-database-credentials"
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "DatabaseCredentials"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = ["${var.database_secret_arn}-??????"]
      },
      {
        Sid      = "DatabaseHost"
        Effect   = "Allow"
        Action   = ["ssm:GetParameters"]
        Resource = [var.database_host_parameter_arn]
      },
    ]
  })
}

resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  description        = "Identity of the ${var.name} containers"
  assume_role_policy = data.aws_iam_policy_document.tasks_assume.json
}

# Terraform owns the task's configuration; deploys own the image. This revision (family
# <name>-config) is the template every deploy copies with its image swapped into a revision of
# family <name>; its own image (var.container_image) is never started: the service is created
# with no tasks, and after an apply that changes this revision `loono-infra apply` rolls the
# service onto it with the image that runs now. Deploy revisions are not in Terraform's state,
# so replacing this one never deregisters a revision a rollback needs.
resource "aws_ecs_task_definition" "this" {
  family                   = "${var.name}-config"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions    = jsonencode(local.container_definitions)
}

resource "aws_lb" "this" {
  name                       = var.load_balancer_name
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [var.load_balancer_security_group_id]
  drop_invalid_header_fields = true
  idle_timeout               = 60
}

# name_prefix + create_before_destroy: a change that replaces the target group (its port)
# creates the new one before the old, still in use, is deleted.
resource "aws_lb_target_group" "this" {
  name_prefix          = var.target_group_name_prefix
  port                 = var.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    enabled             = true
    path                = var.health_check_path
    matcher             = "200"
    interval            = var.health_check_interval_seconds
    timeout             = var.health_check_timeout_seconds
    healthy_threshold   = var.health_check_healthy_threshold
    unhealthy_threshold = var.health_check_unhealthy_threshold
  }

  lifecycle {
    create_before_destroy = true
  }
}

# The outage that matters most: the only task is gone. UnHealthyHostCount stays 0 when the
# target is deregistered, so the alarm watches the healthy ones; no data (no target at all)
# is breaching. It lives beside its target group: every target group has one (CKV2_LOONO_20).
resource "aws_cloudwatch_metric_alarm" "no_healthy_targets" {
  alarm_name          = "${var.name}-no-healthy-targets"
  alarm_description   = "No healthy target behind the load balancer: the service is down"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HealthyHostCount"
  statistic           = "Minimum"
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  period              = 60
  evaluation_periods  = 2
  treat_missing_data  = "breaching"
  dimensions          = { LoadBalancer = aws_lb.this.arn_suffix, TargetGroup = aws_lb_target_group.this.arn_suffix }
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
}

# Clients speak HTTPS to the load balancer only; the tasks behind it speak HTTP inside the VPC.
resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.tls_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }
}

# Port 80 exists only to send clients to HTTPS: it never forwards a request.
resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_ecs_service" "this" {
  name                               = var.name
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = 0
  launch_type                        = "FARGATE"
  platform_version                   = "1.4.0"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = var.health_check_grace_period_seconds
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [var.service_security_group_id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = var.container_name
    container_port   = var.container_port
  }

  # The service starts with no tasks (nothing is deployed yet); deploys own the running
  # revision and the task count (service.desired_count), so Terraform never rolls the service
  # back to its template or scales it.
  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }

  depends_on = [aws_lb_listener.https, aws_iam_role_policy.execution_secrets]
}
