variable "name" {
  description = "Name of the cluster, service and task definition family."
  type        = string
}

variable "region" {
  description = "AWS region, for the awslogs driver."
  type        = string
}

variable "container_name" {
  description = "Name of the backend container."
  type        = string
}

variable "container_image" {
  description = "Image of the first task definition revision; deploys register newer ones."
  type        = string
}

variable "container_port" {
  description = "Port the backend listens on."
  type        = number
}

variable "cpu" {
  description = "Fargate CPU units for the task (256 = 0.25 vCPU)."
  type        = number
}

variable "memory" {
  description = "Fargate memory for the task, in MiB."
  type        = number
}

variable "environment" {
  description = "Plain environment variables of the container (never secrets)."
  type        = map(string)
  default     = {}
}

variable "database_secret_arn" {
  description = "ARN of the database's master secret, without its random suffix (known before it exists)."
  type        = string
}

variable "database_host_parameter_arn" {
  description = "ARN of the SSM parameter holding the database's address."
  type        = string
}

variable "database_port" {
  description = "Port of the database."
  type        = number
}

variable "database_name" {
  description = "Name of the application's database."
  type        = string
}

variable "database_variables" {
  description = "Names of the container's variables for the database: host, port, name, username, password."
  type = object({
    host     = string
    port     = string
    name     = string
    username = string
    password = string
  })
}

variable "log_group_name" {
  description = "CloudWatch log group the awslogs driver writes to."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the target group."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the load balancer."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets of the service's tasks."
  type        = list(string)
}

variable "load_balancer_security_group_id" {
  description = "Security group of the load balancer."
  type        = string
}

variable "service_security_group_id" {
  description = "Security group of the service's tasks."
  type        = string
}

variable "load_balancer_name" {
  description = "Name of the load balancer (32 characters at most)."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate of the HTTPS listener."
  type        = string
}

variable "tls_policy" {
  description = "ELB security policy of the HTTPS listener (TLS 1.2 and 1.3 only)."
  type        = string
}

variable "target_group_name_prefix" {
  description = "Prefix of the target group's name (6 characters at most); AWS adds the rest."
  type        = string
}

variable "health_check_path" {
  description = "HTTP path the target group probes."
  type        = string
}

variable "health_check_healthy_threshold" {
  description = "Consecutive passes before a task counts as healthy."
  type        = number
}

variable "health_check_unhealthy_threshold" {
  description = "Consecutive failures before a task counts as unhealthy."
  type        = number
}

variable "health_check_interval_seconds" {
  description = "Seconds between two probes."
  type        = number
}

variable "health_check_timeout_seconds" {
  description = "Seconds a probe may take."
  type        = number
}

variable "health_check_grace_period_seconds" {
  description = "Seconds after a task starts before failed probes count."
  type        = number
}

variable "alarm_topic_arn" {
  description = "SNS topic the service's healthy-host alarm notifies."
  type        = string
}
