# Network: one VPC, public subnets for the load balancer and the NAT gateway,
# private subnets for the service and the database, and three security groups
# that chain internet -> load balancer -> service -> database.

# Subnets are /24 (251 addresses; an ALB needs at least a /27 with 8 free) whatever the VPC's
# size (/16 to /20): 24 - prefix new bits. Private subnets start at index 100 in a /16 (the
# addresses the stack has always had), and halfway in smaller VPCs.
locals {
  subnet_newbits = 24 - tonumber(split("/", var.cidr_block)[1])
  private_offset = min(100, pow(2, local.subnet_newbits) / 2)
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
  count                   = length(var.availability_zones)
  vpc_id                  = aws_vpc.this.id
  availability_zone       = var.availability_zones[count.index]
  cidr_block              = cidrsubnet(var.cidr_block, local.subnet_newbits, count.index)
  map_public_ip_on_launch = false
  tags                    = { Name = "${var.name}-public-${count.index}", Tier = "public" }
}

resource "aws_subnet" "private" {
  count             = length(var.availability_zones)
  vpc_id            = aws_vpc.this.id
  availability_zone = var.availability_zones[count.index]
  cidr_block        = cidrsubnet(var.cidr_block, local.subnet_newbits, count.index + local.private_offset)
  tags              = { Name = "${var.name}-private-${count.index}", Tier = "private" }
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
  count          = length(var.availability_zones)
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_eip" "nat" {
  vpc  = true
  tags = { Name = "${var.name}-nat" }
}

resource "aws_nat_gateway" "this" {
  allocation_id = aws_eip.nat.id
  subnet_id     = aws_subnet.public[0].id
  tags          = { Name = var.name }
  depends_on    = [aws_internet_gateway.this]
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.this.id
  tags   = { Name = "${var.name}-private" }
}

resource "aws_route" "private_nat" {
  route_table_id         = aws_route_table.private.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this.id
}

resource "aws_route_table_association" "private" {
  count          = length(var.availability_zones)
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
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
