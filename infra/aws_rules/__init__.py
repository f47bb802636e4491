"""What AWS enforces and moto does not, checked by our own code: the SAM transform, IAM, service principals.

Tests and the local stack use the same code, so "works locally" means "allowed on AWS":
- `transform`: the SAM transform CloudFormation runs (aws-sam-translator), once per process;
- `policy`: a small IAM policy evaluator (actions, resources, the condition operators we use);
- `calls`: which IAM action and resource ARN each AWS API call is authorized against;
- `enforce`: a botocore hook on every client that evaluates each call made while a function runs
  against the role SAM generates for it, and raises AccessDenied as AWS would;
- `limits`: DynamoDB's 400 KB item limit on the calls that write items (installed by `enforce`);
- `principals`: service-to-service paths (SES, CloudWatch, SNS, SQS, S3, EventBridge -> their targets).
"""
