variable "name" {
  description = "Identifier of the instance and its subnet and parameter groups."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets the instance may be placed in."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group that admits only the service."
  type        = string
}

variable "engine_version" {
  description = "PostgreSQL engine version, e.g. 12.5."
  type        = string
}

variable "parameter_group_family" {
  description = "Parameter group family matching the engine version, e.g. postgres12."
  type        = string
}

variable "instance_class" {
  description = "Instance class, e.g. db.t3.micro."
  type        = string
}

variable "database_name" {
  description = "Name of the database created on the instance."
  type        = string
}

variable "master_username" {
  description = "Master user name."
  type        = string
}

variable "master_password" {
  description = "Master password, needed only when the instance is created; later plans ignore it (rotation happens in Secrets Manager and RDS, out of band)."
  type        = string
  sensitive   = true
  default     = null
}

variable "port" {
  description = "Port PostgreSQL listens on."
  type        = number
  default     = 5432
}

variable "allocated_storage_gb" {
  description = "Storage allocated at creation, in GB."
  type        = number
}

variable "max_allocated_storage_gb" {
  description = "Upper bound for storage autoscaling, in GB."
  type        = number
}

variable "backup_retention_days" {
  description = "Days automated backups are kept."
  type        = number
}

variable "multi_az" {
  description = "Whether to run a standby in a second availability zone."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Refuse deletion of the instance."
  type        = bool
}

variable "final_snapshot" {
  description = "Take a final snapshot when the instance is deleted."
  type        = bool
}

variable "log_min_duration_ms" {
  description = "Log statements slower than this, in milliseconds."
  type        = number
  default     = 1000
}

variable "log_retention_days" {
  description = "Days the exported PostgreSQL and upgrade logs are kept."
  type        = number
}

variable "apply_immediately" {
  description = "Apply restarting changes (major upgrade, class) now instead of in the maintenance window."
  type        = bool
  default     = false
}
