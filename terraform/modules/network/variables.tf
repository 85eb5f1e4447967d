variable "name" {
  description = "Prefix for every network resource name."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's CIDR block; subnets are /24s carved from it."
  type        = string
}

variable "availability_zones" {
  description = "Availability zones, one public and one private subnet in each."
  type        = list(string)
}

variable "nat_gateway_per_zone" {
  description = "A NAT gateway in every zone (true), or one for all zones (false: cheaper, one zone's failure cuts every task off)."
  type        = bool
  default     = true
}

variable "service_port" {
  description = "Port the service's containers listen on."
  type        = number
}

variable "database_port" {
  description = "Port the database listens on."
  type        = number
  default     = 5432
}

variable "load_balancer_ports" {
  description = "Ports the load balancer accepts from the internet."
  type        = list(number)
  default     = [80, 443]
}
