# Network: one VPC, public subnets for the load balancer and the NAT gateway,
# private subnets for the service and the database, and three security groups
# that chain internet -> load balancer -> service -> database.

# Subnets are /24 (251 addresses; an ALB needs at least a /27 with 8 free) whatever the VPC's
# size (/16 to /20): 24 - prefix new bits. Private subnets start at index 100 in a /16 (the
# addresses the stack has always had), and halfway in smaller VPCs.
locals {
  subnet_newbits = 24 - tonumber(split("/", var.cidr_block)[1])
  private_offset = min(100, pow(2, local.subnet_newbits) / 2)
  # Keyed by zone, not by position: removing a zone from the list touches that zone only.
  zones = { for index, zone in var.availability_zones : zone => index }
  # A NAT gateway per zone (the default) keeps the other zones' tasks online when one zone
  # fails; one NAT gateway (in the first zone) is cheaper and cuts every task off with it.
  nat_zones = var.nat_gateway_per_zone ? local.zones : { (var.availability_zones[0]) = 0 }
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = var.name }
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = { Name = var.name }
}

resource "aws_subnet" "public" {
  for_each                = local.zones
  vpc_id                  = aws_vpc.this.id
  availability_zone       = each.key
  cidr_block              = cidrsubnet(var.cidr_block, local.subnet_newbits, each.value)
  map_public_ip_on_launch = false
  tags                    = { Name = "${var.name}-public-${each.value}", Tier = "public" }
}

resource "aws_subnet" "private" {
  for_each          = local.zones
  vpc_id            = aws_vpc.this.id
  availability_zone = each.key
  cidr_block        = cidrsubnet(var.cidr_block, local.subnet_newbits, each.value + local.private_offset)
  tags              = { Name = "${var.name}-private-${each.value}", Tier = "private" }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  tags   = { Name = "${var.name}-public" }
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  for_each       = local.zones
  subnet_id      = aws_subnet.public[each.key].id
  route_table_id = aws_route_table.public.id
}

resource "aws_eip" "nat" {
  for_each = local.nat_zones
  vpc      = true
  tags     = { Name = "${var.name}-nat-${each.value}" }
}

# ServesZones names the zones whose private subnets route through this gateway; policy
# CKV_LOONO_21 reports a gateway that serves more zones than its own.
resource "aws_nat_gateway" "this" {
  for_each      = local.nat_zones
  allocation_id = aws_eip.nat[each.key].id
  subnet_id     = aws_subnet.public[each.key].id
  tags = {
    Name        = "${var.name}-${each.value}"
    ServesZones = join(" ", var.nat_gateway_per_zone ? [each.key] : var.availability_zones)
  }
  depends_on = [aws_internet_gateway.this]
}

resource "aws_route_table" "private" {
  for_each = local.zones
  vpc_id   = aws_vpc.this.id
  tags     = { Name = "${var.name}-private-${each.value}" }
}

resource "aws_route" "private_nat" {
  for_each               = local.zones
  route_table_id         = aws_route_table.private[each.key].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[contains(keys(local.nat_zones), each.key) ? each.key : var.availability_zones[0]].id
}

# After the zone's default route exists: a subnet moved onto a new, empty table would lose its
# way out (image pulls, secrets, logs) until the NAT gateway is up.
resource "aws_route_table_association" "private" {
  for_each       = local.zones
  subnet_id      = aws_subnet.private[each.key].id
  route_table_id = aws_route_table.private[each.key].id
  depends_on     = [aws_route.private_nat]
}

resource "aws_security_group" "load_balancer" {
  name        = "${var.name}-lb"
  description = "Load balancer: HTTP and HTTPS from the internet"
  vpc_id      = aws_vpc.this.id
  tags        = { Name = "${var.name}-lb" }
}

resource "aws_security_group_rule" "load_balancer_ingress" {
  for_each          = toset([for port in var.load_balancer_ports : tostring(port)])
  description       = "Clients on port ${each.value}"
  type              = "ingress"
  security_group_id = aws_security_group.load_balancer.id
  protocol          = "tcp"
  from_port         = tonumber(each.value)
  to_port           = tonumber(each.value)
  cidr_blocks       = ["0.0.0.0/0"]
}

resource "aws_security_group_rule" "load_balancer_to_service" {
  description              = "Forward to the service"
  type                     = "egress"
  security_group_id        = aws_security_group.load_balancer.id
  protocol                 = "tcp"
  from_port                = var.service_port
  to_port                  = var.service_port
  source_security_group_id = aws_security_group.service.id
}

resource "aws_security_group" "service" {
  name        = "${var.name}-service"
  description = "Service tasks: only from the load balancer"
  vpc_id      = aws_vpc.this.id
  tags        = { Name = "${var.name}-service" }
}

resource "aws_security_group_rule" "service_from_load_balancer" {
  description              = "Traffic from the load balancer"
  type                     = "ingress"
  security_group_id        = aws_security_group.service.id
  protocol                 = "tcp"
  from_port                = var.service_port
  to_port                  = var.service_port
  source_security_group_id = aws_security_group.load_balancer.id
}

resource "aws_security_group_rule" "service_egress" {
  description       = "Image pulls, logs and AWS APIs over HTTPS"
  type              = "egress"
  security_group_id = aws_security_group.service.id
  protocol          = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_blocks       = ["0.0.0.0/0"]
}

resource "aws_security_group_rule" "service_to_database" {
  description              = "PostgreSQL"
  type                     = "egress"
  security_group_id        = aws_security_group.service.id
  protocol                 = "tcp"
  from_port                = var.database_port
  to_port                  = var.database_port
  source_security_group_id = aws_security_group.database.id
}

resource "aws_security_group" "database" {
  name        = "${var.name}-db"
  description = "Database: only from the service"
  vpc_id      = aws_vpc.this.id
  tags        = { Name = "${var.name}-db" }
}

resource "aws_security_group_rule" "database_from_service" {
  description              = "PostgreSQL from the service"
  type                     = "ingress"
  security_group_id        = aws_security_group.database.id
  protocol                 = "tcp"
  from_port                = var.database_port
  to_port                  = var.database_port
  source_security_group_id = aws_security_group.service.id
}
