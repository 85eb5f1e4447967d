output "log_group_name" {
  value = aws_cloudwatch_log_group.service.name
}

output "alarm_topic_arn" {
  value = aws_sns_topic.alarms.arn
}

output "log_reader_role_arn" {
  value = aws_iam_role.log_reader.arn
}

output "log_readers_group_name" {
  value = aws_iam_group.log_readers.name
}
