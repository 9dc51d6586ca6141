mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}
variables {
  region                  = "eu-west-1"
  vpc_id                  = "vpc-0123456789abcdef0"
  subnet_ids              = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
  image                   = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mass-ingest:0.1.0"
  inventory_uri           = "s3://inventory-bucket/inventories/repos.csv"
  publish_url             = "s3://artifact-bucket/mass-ingest"
  database_url_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mass-ingest/database-url-AbCdEf"
}
run "a" {
  command = plan
  variables { name = "1bad" }
  expect_failures = [var.name]
}
run "b" {
  command = plan
  variables { region = "bad" }
  expect_failures = [var.region]
}
run "c" {
  command = plan
  variables { vpc_id = "bad" }
  expect_failures = [var.vpc_id]
}
run "d" {
  command = plan
  variables { compute_type = "bad" }
  expect_failures = [var.compute_type]
}
