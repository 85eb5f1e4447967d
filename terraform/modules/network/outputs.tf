output "vpc_id" {
  value = aws_vpc.this.id
}

output "public_subnet_ids" {
  value = [for zone in var.availability_zones : aws_subnet.public[zone].id]
}

output "private_subnet_ids" {
  value = [for zone in var.availability_zones : aws_subnet.private[zone].id]
}

output "load_balancer_security_group_id" {
  value = aws_security_group.load_balancer.id
}

output "service_security_group_id" {
  value = aws_security_group.service.id
}

output "database_security_group_id" {
  value = aws_security_group.database.id
}
