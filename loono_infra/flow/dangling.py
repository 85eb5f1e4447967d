"""Resources a killed run created but never wrote to the state: found, and adopted by import.

Terraform writes a remote state at intervals, so a run killed hard (SIGKILL, a lost CI
runner) can leave resources in AWS that no state knows. The next plan would create them
again: a named one fails ("already exists"), an unnamed one (a VPC, a KMS key) is made twice,
silently. So before a plan that creates resources is saved, each create whose identity AWS
can be asked about is looked up. What exists is listed, and apply refuses that plan; a person
who has checked the list re-plans with --adopt, which imports them (Terraform `import` blocks;
the plan shows the imports). Adoption is never automatic: a name alone does not prove a
resource is this stack's. (An ECS cluster needs neither:
CreateCluster of an existing active cluster returns it.)
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from loono_infra.clients.aws import AwsEndpoint
from loono_infra.core.errors import LoonoError
from loono_infra.core.files import write_atomically
from loono_infra.core.terraform.models import PlannedResource

ADOPT_FILE = "adopt.tf.json"
T = TypeVar("T")


class Clients:
    """One boto3 client per service for every lookup of a plan, all from one session (made
    one at a time: its clients share its loaded models)."""

    def __init__(self, aws: AwsEndpoint) -> None:
        self.aws = aws
        self._session: Any = None  # made by the first client (it can fail: a missing profile)
        self._made: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if self._session is None:
                self._session = self.aws.session()
            if service not in self._made:
                self._made[service] = self.aws.client(service, self._session)
            return self._made[service]

    @classmethod
    def ready(cls, aws: AwsEndpoint) -> Clients:
        """Clients of every service a lookup asks, made ahead (while Terraform plans: making
        them takes longer than asking)."""
        from botocore.exceptions import BotoCoreError

        clients = cls(aws)
        for service in sorted({name for name, _ in LOOKUPS.values()}):
            with contextlib.suppress(BotoCoreError):  # made again by its lookup, which warns
                clients.client(service)
        return clients


Lookup = Callable[[Any, dict[str, Any]], str | None]  # (its service's client, after)


@dataclass(frozen=True)
class Dangling:
    """A resource that exists in AWS, which the plan would create again."""

    address: str
    import_id: str

    def adopted(self) -> str:
        return f"{self.address} exists in AWS but not in the state ({self.import_id}): imported"

    def found(self) -> str:
        return (f"{self.address} already exists in AWS ({self.import_id}) but not in the state: "
                "left by a killed run? Check it is this stack's, then re-plan with --adopt to "
                "import it (or delete it)")


def _not_found(error: Exception) -> bool:
    code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
    return any(word in code for word in ("NotFound", "NoSuchEntity", "ResourceNotFound"))


def _asked(call: Callable[[], T]) -> T | None:
    from botocore.exceptions import ClientError

    try:
        return call()
    except ClientError as error:
        if _not_found(error):
            return None
        raise


def _log_group(client: Any, after: dict[str, Any]) -> str | None:
    name = str(after["name"])
    groups = client.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return str(name) if any(g["logGroupName"] == name for g in groups) else None


def _repository(client: Any, after: dict[str, Any]) -> str | None:
    name = str(after["name"])
    return _asked(lambda: client.describe_repositories(
        repositoryNames=[name])["repositories"][0]["repositoryName"])


def _role(client: Any, after: dict[str, Any]) -> str | None:
    name = str(after["name"])
    return _asked(lambda: client.get_role(RoleName=name)["Role"]["RoleName"])


def _group(client: Any, after: dict[str, Any]) -> str | None:
    name = str(after["name"])
    return _asked(lambda: client.get_group(GroupName=name)["Group"]["GroupName"])


def _secret(client: Any, after: dict[str, Any]) -> str | None:
    name = str(after["name"])
    secret = _asked(lambda: client.describe_secret(SecretId=name))
    return str(secret["ARN"]) if secret and not secret.get("DeletedDate") else None


def _subnet_group(client: Any, after: dict[str, Any]) -> str | None:
    name = str(after["name"])
    return _asked(lambda: client.describe_db_subnet_groups(
        DBSubnetGroupName=name)["DBSubnetGroups"][0]["DBSubnetGroupName"])


def _database(client: Any, after: dict[str, Any]) -> str | None:
    identifier = str(after["identifier"])
    return _asked(lambda: client.describe_db_instances(
        DBInstanceIdentifier=identifier)["DBInstances"][0]["DBInstanceIdentifier"])


def _topic(client: Any, after: dict[str, Any]) -> str | None:
    pages = client.get_paginator("list_topics").paginate()
    return next((str(t["TopicArn"]) for page in pages for t in page["Topics"]
                 if str(t["TopicArn"]).endswith(f":{after['name']}")), None)


def _alias(client: Any, after: dict[str, Any]) -> str | None:
    pages = client.get_paginator("list_aliases").paginate()
    named = any(a["AliasName"] == after["name"] for page in pages for a in page["Aliases"])
    return str(after["name"]) if named else None


def _balancer(client: Any, after: dict[str, Any]) -> str | None:
    name = str(after["name"])
    return _asked(lambda: client.describe_load_balancers(
        Names=[name])["LoadBalancers"][0]["LoadBalancerArn"])


def _parameter(client: Any, after: dict[str, Any]) -> str | None:
    name = str(after["name"])
    return _asked(lambda: client.get_parameter(Name=name)["Parameter"]["Name"])


def _vpc(client: Any, after: dict[str, Any]) -> str | None:
    name = (after.get("tags") or {}).get("Name")
    if not name:
        return None
    vpcs = client.describe_vpcs(Filters=[
        {"Name": "tag:Name", "Values": [name]},
        {"Name": "cidr-block-association.cidr-block", "Values": [after["cidr_block"]]}])["Vpcs"]
    return str(vpcs[0]["VpcId"]) if len(vpcs) == 1 else None


# The resource types whose identity can be asked: the service that answers, and the lookup.
LOOKUPS: dict[str, tuple[str, Lookup]] = {
    "aws_cloudwatch_log_group": ("logs", _log_group),
    "aws_ecr_repository": ("ecr", _repository),
    "aws_iam_role": ("iam", _role),
    "aws_iam_group": ("iam", _group),
    "aws_secretsmanager_secret": ("secretsmanager", _secret),
    "aws_db_subnet_group": ("rds", _subnet_group),
    "aws_db_instance": ("rds", _database),
    "aws_sns_topic": ("sns", _topic),
    "aws_kms_alias": ("kms", _alias),
    "aws_lb": ("elbv2", _balancer),
    "aws_ssm_parameter": ("ssm", _parameter),
    "aws_vpc": ("ec2", _vpc),
}


LOOKUP_THREADS = 8  # lookups are waits on AWS (tens of ms each on real AWS): asked together


def find_dangling(clients: Clients, resources: Iterable[PlannedResource],
                  ) -> tuple[list[Dangling], list[str]]:
    """The planned creates that already exist in AWS (those whose identity can be asked), and
    the lookups that could not be made (a warning each; the plan goes on). The lookups run
    side by side; what they find is told in the plan's order."""
    asked = [r for r in resources if r.change.action == "create"
             and r.change.resource_type in LOOKUPS and isinstance(r.after, dict)]
    if not asked:
        return [], []
    with ThreadPoolExecutor(max_workers=min(LOOKUP_THREADS, len(asked))) as pool:
        outcomes = list(pool.map(functools.partial(_looked_up, clients), asked))
    found = [outcome for outcome in outcomes if isinstance(outcome, Dangling)]
    return found, [outcome for outcome in outcomes if isinstance(outcome, str)]


def _looked_up(clients: Clients, resource: PlannedResource) -> Dangling | str | None:
    """resource found in AWS (a Dangling), not found (None), or a lookup that failed (why);
    an endpoint that does not answer stops the plan (LoonoError)."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    service, lookup = LOOKUPS[resource.change.resource_type]
    after = resource.after if isinstance(resource.after, dict) else {}
    try:
        import_id = lookup(clients.client(service), after)
    except (KeyError, TypeError):  # an identity not known before apply
        return None
    except (ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError,
            ReadTimeoutError) as error:
        aws = clients.aws
        raise LoonoError(f"the AWS endpoint {aws.url or aws.region} did not answer while "
                         f"checking whether {resource.change.address} already exists "
                         f"({error}); nothing was saved to apply") from error
    except (ClientError, BotoCoreError) as error:
        return (f"could not check whether {resource.change.address} already exists: "
                f"{error}")
    return Dangling(resource.change.address, import_id) if import_id else None


def write_adoptions(workdir: Path, dangling: list[Dangling]) -> None:
    """Import blocks for the next plan of this root module."""
    blocks = [{"to": d.address, "id": d.import_id} for d in dangling]
    write_atomically(workdir / ADOPT_FILE, json.dumps({"import": blocks}, indent=2) + "\n")


def forget_adoptions(workdir: Path) -> None:
    """A plan starts without the previous plan's import blocks (looked up afresh if needed)."""
    (workdir / ADOPT_FILE).unlink(missing_ok=True)
