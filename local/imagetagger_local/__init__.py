"""The local stack: moto as S3/SQS/DynamoDB, an S3 gateway that enforces presigned POST policies, an API Gateway
emulator that runs the Lambda handlers in-process, an SQS worker, the model endpoint and the web page."""
