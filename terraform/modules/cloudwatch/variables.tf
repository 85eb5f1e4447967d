variable "name" {
  description = "Prefix for alarm, topic and IAM names."
  type        = string
}

variable "log_group_name" {
  description = "Name of the service's log group."
  type        = string
}

variable "log_retention_days" {
  description = "Days log events are kept."
  type        = number
}

variable "cluster_name" {
  description = "ECS cluster of the service, for the service alarms."
  type        = string
}

variable "service_name" {
  description = "ECS service, for the service alarms."
  type        = string
}

variable "load_balancer_arn_suffix" {
  description = "ARN suffix of the load balancer, for the 5xx alarm."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "ARN suffix of the target group, for the unhealthy-targets alarm."
  type        = string
}

variable "database_identifier" {
  description = "RDS instance identifier, for the database alarms."
  type        = string
}

variable "cpu_alarm_percent" {
  description = "CPU utilisation that raises an alarm."
  type        = number
  default     = 80
}

variable "memory_alarm_percent" {
  description = "Memory utilisation that raises an alarm."
  type        = number
  default     = 80
}

variable "http_5xx_alarm_count" {
  description = "5xx answers in 5 minutes that raise an alarm."
  type        = number
  default     = 10
}

variable "free_storage_alarm_gb" {
  description = "Free database storage, in GB, below which an alarm is raised."
  type        = number
  default     = 2
}

variable "database_free_memory_alarm_mb" {
  description = "Freeable database memory, in MB, below which an alarm is raised."
  type        = number
  default     = 100
}

variable "database_connections_alarm_count" {
  description = "Database connections above which an alarm is raised."
  type        = number
  default     = 60
}

variable "database_credit_alarm_percent" {
  description = "Storage burst balance (gp2), in percent, below which an alarm is raised."
  type        = number
  default     = 20
}

variable "alarm_subscriptions" {
  description = "Who is told when an alarm fires: SNS subscriptions (email or https)."
  type = list(object({
    protocol = string
    endpoint = string
  }))
  default = []
}
