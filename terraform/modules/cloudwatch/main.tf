# CloudWatch: the service's log group, alarms on the service, the load
# balancer and the database (to one SNS topic), and read-only log access for
# the team, so nobody needs console rights to read logs.

locals {
  alarm_actions = [aws_sns_topic.alarms.arn]
  # Built from known values, so the topic's policy (and the checks that read it) is known at plan
  # time, the same before and after the topic exists.
  alarm_topic_arn = "arn:${data.aws_partition.current.partition}:sns:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:${var.name}-alarms"
}

resource "aws_cloudwatch_log_group" "service" {
  name              = var.log_group_name
  retention_in_days = var.log_retention_days
}

# The alarm topic is encrypted with a key of its own: CloudWatch can publish to an encrypted
# topic only when the key's policy lets it use the key, and the AWS managed key alias/aws/sns
# cannot be given to it (every notification would fail with KMS AccessDenied, silently).
resource "aws_kms_key" "alarms" {
  description             = "Encrypts the ${var.name} alarm topic; CloudWatch alarms may use it"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchAlarmsPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
      },
      {
        # this account's principals allowed to publish (the emergency apply's announcement)
        # use the key through SNS only
        Sid       = "AccountPublishesThroughSns"
        Effect    = "Allow"
        Principal = { AWS = "*" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          StringEquals = {
            "kms:ViaService"    = "sns.${data.aws_region.current.name}.amazonaws.com"
            "kms:CallerAccount" = data.aws_caller_identity.current.account_id
          }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "alarms" {
  name          = "alias/${var.name}-alarms"
  target_key_id = aws_kms_key.alarms.key_id
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.alarms.arn
}

# This account's CloudWatch alarms publish to the topic (the account's own principals need no
# statement here: within one account their IAM policies suffice).
resource "aws_sns_topic_policy" "alarms" {
  arn = aws_sns_topic.alarms.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "CloudWatchAlarmsPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = local.alarm_topic_arn
        Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
      },
    ]
  })
}

# Someone hears the alarms. An e-mail address confirms its subscription once (Terraform does not
# wait for it). An HTTPS endpoint must confirm by fetching the SubscribeURL SNS posts to it (an
# on-call tool does; a plain chat webhook does not, and cannot read SNS's message either).
resource "aws_sns_topic_subscription" "alarms" {
  for_each  = { for s in var.alarm_subscriptions : "${s.protocol}:${s.endpoint}" => s }
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}

resource "aws_cloudwatch_metric_alarm" "service_cpu" {
  alarm_name          = "${var.name}-service-cpu-high"
  alarm_description   = "Service CPU above ${var.cpu_alarm_percent}%"
  namespace           = "AWS/ECS"
  metric_name         = "CPUUtilization"
  statistic           = "Average"
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.cpu_alarm_percent
  period              = 300
  evaluation_periods  = 2
  dimensions          = { ClusterName = var.cluster_name, ServiceName = var.service_name }
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "service_memory" {
  alarm_name          = "${var.name}-service-memory-high"
  alarm_description   = "Service memory above ${var.memory_alarm_percent}%"
  namespace           = "AWS/ECS"
  metric_name         = "MemoryUtilization"
  statistic           = "Average"
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.memory_alarm_percent
  period              = 300
  evaluation_periods  = 2
  dimensions          = { ClusterName = var.cluster_name, ServiceName = var.service_name }
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "load_balancer_5xx" {
  alarm_name          = "${var.name}-5xx"
  alarm_description   = "Backend answered 5xx more than ${var.http_5xx_alarm_count} times in 5 minutes"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_Target_5XX_Count"
  statistic           = "Sum"
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.http_5xx_alarm_count
  period              = 300
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  dimensions          = { LoadBalancer = var.load_balancer_arn_suffix }
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# 5xx the load balancer answers itself (502/503/504: no target, a target that closed the
# connection or timed out): the backend's own 5xx count never sees them.
resource "aws_cloudwatch_metric_alarm" "load_balancer_elb_5xx" {
  alarm_name          = "${var.name}-elb-5xx"
  alarm_description   = "The load balancer answered 5xx itself more than ${var.http_5xx_alarm_count} times in 5 minutes"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_ELB_5XX_Count"
  statistic           = "Sum"
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.http_5xx_alarm_count
  period              = 300
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  dimensions          = { LoadBalancer = var.load_balancer_arn_suffix }
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "unhealthy_targets" {
  alarm_name          = "${var.name}-unhealthy-targets"
  alarm_description   = "At least one target failed its health check"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  statistic           = "Maximum"
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  period              = 60
  evaluation_periods  = 3
  dimensions          = { LoadBalancer = var.load_balancer_arn_suffix, TargetGroup = var.target_group_arn_suffix }
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "database_cpu" {
  alarm_name          = "${var.name}-db-cpu-high"
  alarm_description   = "Database CPU above ${var.cpu_alarm_percent}%"
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  statistic           = "Average"
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.cpu_alarm_percent
  period              = 300
  evaluation_periods  = 2
  dimensions          = { DBInstanceIdentifier = var.database_identifier }
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "database_free_storage" {
  alarm_name          = "${var.name}-db-free-storage-low"
  alarm_description   = "Database free storage below ${var.free_storage_alarm_gb} GB"
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  statistic           = "Minimum"
  comparison_operator = "LessThanThreshold"
  threshold           = var.free_storage_alarm_gb * 1073741824
  period              = 300
  evaluation_periods  = 1
  dimensions          = { DBInstanceIdentifier = var.database_identifier }
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# The database's limits on a small burstable instance: memory (db.t3.micro has 1 GiB), client
# connections (max_connections follows memory: about 80 there), gp2 burst credits (20 GB of
# gp2 has a 100 IOPS baseline; an empty BurstBalance throttles every query) and CPU beyond the
# burstable baseline.
resource "aws_cloudwatch_metric_alarm" "database_freeable_memory" {
  alarm_name          = "${var.name}-db-memory-low"
  alarm_description   = "Database freeable memory below ${var.database_free_memory_alarm_mb} MB"
  namespace           = "AWS/RDS"
  metric_name         = "FreeableMemory"
  statistic           = "Minimum"
  comparison_operator = "LessThanThreshold"
  threshold           = var.database_free_memory_alarm_mb * 1048576
  period              = 300
  evaluation_periods  = 2
  dimensions          = { DBInstanceIdentifier = var.database_identifier }
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "database_connections" {
  alarm_name          = "${var.name}-db-connections-high"
  alarm_description   = "More than ${var.database_connections_alarm_count} database connections"
  namespace           = "AWS/RDS"
  metric_name         = "DatabaseConnections"
  statistic           = "Maximum"
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.database_connections_alarm_count
  period              = 300
  evaluation_periods  = 1
  dimensions          = { DBInstanceIdentifier = var.database_identifier }
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "database_burst_balance" {
  alarm_name          = "${var.name}-db-burst-balance-low"
  alarm_description   = "Database storage burst balance below ${var.database_credit_alarm_percent}%"
  namespace           = "AWS/RDS"
  metric_name         = "BurstBalance"
  statistic           = "Minimum"
  comparison_operator = "LessThanThreshold"
  threshold           = var.database_credit_alarm_percent
  period              = 300
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching" # gp3 and io1 storage report no burst balance
  dimensions          = { DBInstanceIdentifier = var.database_identifier }
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# db.t3 runs in Unlimited mode: a low credit balance does not throttle, it bills surplus
# credits (and a new instance starts at 0), so the alarm is on the surplus being charged.
resource "aws_cloudwatch_metric_alarm" "database_cpu_surplus" {
  alarm_name          = "${var.name}-db-cpu-surplus-charged"
  alarm_description   = "Database CPU beyond its burstable baseline is being billed (surplus credits charged)"
  namespace           = "AWS/RDS"
  metric_name         = "CPUSurplusCreditsCharged"
  statistic           = "Sum"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  period              = 3600
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching" # only burstable (db.t*) classes report credits
  dimensions          = { DBInstanceIdentifier = var.database_identifier }
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

# People of this account, signed in with MFA.
data "aws_iam_policy_document" "log_reader_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
    condition {
      test     = "Bool"
      variable = "aws:MultiFactorAuthPresent"
      values   = ["true"]
    }
  }
}

resource "aws_iam_role" "log_reader" {
  name               = "${var.name}-log-reader"
  description        = "Read-only access to CloudWatch logs for the team"
  assume_role_policy = data.aws_iam_policy_document.log_reader_assume.json
}

# Read-only, and only the service's logs: not the database's query logs (RDS exports them to
# their own groups, with statements and their values), not other stacks' groups. Listing
# groups names every group (not its events). Logs Insights is not granted: fetching a query's
# results cannot be tied to the group it ran on; `aws logs tail` and the console's event view
# use FilterLogEvents and GetLogEvents.
locals {
  service_log_group_arn = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:${var.log_group_name}"
  log_reader_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadServiceLogs"
        Effect   = "Allow"
        Action   = ["logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"]
        Resource = [local.service_log_group_arn, "${local.service_log_group_arn}:*"]
      },
      {
        Sid      = "ListGroups"
        Effect   = "Allow"
        Action   = ["logs:DescribeLogGroups"]
        Resource = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:*"
      },
    ]
  })
}

resource "aws_iam_role_policy" "log_reader" {
  name   = "read-service-logs"
  role   = aws_iam_role.log_reader.id
  policy = local.log_reader_policy
}

resource "aws_iam_group" "log_readers" {
  name = "${var.name}-log-readers"
}

resource "aws_iam_group_policy" "log_readers" {
  name   = "read-service-logs"
  group  = aws_iam_group.log_readers.name
  policy = local.log_reader_policy
}
