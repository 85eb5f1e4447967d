# RDS: an encrypted, private PostgreSQL instance with storage autoscaling and
# backups. The master password is needed once, when the instance is created: it is
# written to Secrets Manager (where the ECS task reads it) and to RDS, and Terraform
# ignores it from then on, so plans of an existing database need no password.

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = { Name = var.name }
}

# name_prefix + create_before_destroy: a major upgrade changes the family, which replaces the
# group; the new one exists before the instance moves to it and the old one (in use until then)
# is deleted after.
resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-"
  family      = var.parameter_group_family

  parameter {
    name  = "log_min_duration_statement"
    value = tostring(var.log_min_duration_ms)
  }

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  lifecycle {
    create_before_destroy = true
  }
}

# The log groups RDS exports to, declared so they have a retention (RDS would create them
# itself, never expiring) and exist before the instance writes to them.
resource "aws_cloudwatch_log_group" "exports" {
  for_each          = toset(local.log_exports)
  name              = "/aws/rds/instance/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
}

locals {
  log_exports = ["postgresql", "upgrade"]
}

resource "aws_db_instance" "this" {
  identifier = var.name
  engine     = "postgres"
  # The major version only (e.g. "12"): RDS picks the minor and upgrades it in the maintenance
  # window (auto_minor_version_upgrade); the provider then ignores the minor it reads back, so a
  # pinned minor never fights an upgrade AWS already did. A major upgrade is a settings change.
  engine_version              = var.engine_version
  allow_major_version_upgrade = true
  # Restarting changes wait for the maintenance window unless the change says "now"; until the
  # window the plan keeps showing them (the pending value is not the running one).
  apply_immediately          = var.apply_immediately
  instance_class             = var.instance_class
  name                       = var.database_name
  username                   = var.master_username
  password                   = var.master_password
  port                       = var.port
  allocated_storage          = var.allocated_storage_gb
  max_allocated_storage      = var.max_allocated_storage_gb
  storage_type               = "gp2"
  storage_encrypted          = true
  publicly_accessible        = false
  multi_az                   = var.multi_az
  db_subnet_group_name       = aws_db_subnet_group.this.name
  parameter_group_name       = aws_db_parameter_group.this.name
  vpc_security_group_ids     = [var.security_group_id]
  backup_retention_period    = var.backup_retention_days
  backup_window              = "02:00-03:00"
  maintenance_window         = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot      = true
  auto_minor_version_upgrade = true
  deletion_protection        = var.deletion_protection
  skip_final_snapshot        = !var.final_snapshot
  # Unique per instance (the time it was created): a second destroy never collides with the
  # first one's snapshot. Automated backups outlive the instance (their retention still applies).
  final_snapshot_identifier = var.final_snapshot ? "${var.name}-final-${formatdate("YYYYMMDDhhmmss", timestamp())}" : null
  delete_automated_backups  = false
  # the declared groups' keys: a reference, so the groups exist first and policy
  # CKV2_LOONO_22 sees that every exported log has its declared group
  enabled_cloudwatch_logs_exports     = [for kind, group in aws_cloudwatch_log_group.exports : kind]
  iam_database_authentication_enabled = true
  # RDS's current CA (RSA 2048, valid to 2061); clients verify the server against it.
  ca_cert_identifier = "rds-ca-rsa2048-g1"
  tags               = { Name = var.name }

  lifecycle {
    # the password: set at creation, rotated in Secrets Manager and RDS;
    # the final snapshot's name: fixed when the instance was created
    ignore_changes = [password, final_snapshot_identifier]
  }
}

# The application's credentials: the ECS task reads them through its `secrets`.
resource "aws_secretsmanager_secret" "master" {
  name        = "${var.name}/master"
  description = "Master user of ${var.name}: username and password (JSON)"
  # Production keeps a deleted secret 7 days; a disposable environment can be re-created at once.
  recovery_window_in_days = var.deletion_protection ? 7 : 0
  tags                    = { Name = "${var.name}/master" }
}

resource "aws_secretsmanager_secret_version" "master" {
  secret_id     = aws_secretsmanager_secret.master.id
  secret_string = jsonencode({ username = var.master_username, password = var.master_password })

  lifecycle {
    ignore_changes = [secret_string] # the password lives here after creation
  }
}

# Where the database answers (known only after creation). SecureString with SSM's AWS managed
# key: ECS reads it through the task's `secrets` without a kms:Decrypt grant.
resource "aws_ssm_parameter" "host" {
  name        = "/${var.name}/host"
  description = "Address of ${var.name}"
  type        = "SecureString"
  value       = aws_db_instance.this.address
}
