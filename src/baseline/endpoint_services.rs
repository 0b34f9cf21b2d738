//! The AWS services a VPC interface endpoint can be created for, by the short name users write in the
//! baseline (`ssm`, `ecr.api`): the last part of the endpoint service name
//! (`com.amazonaws.<region>.<short>`). The list is checked when the baseline loads, so a typo fails
//! before any call; the real service name is always read from `ec2:DescribeVpcEndpointServices` in each
//! region, never built from this name. `s3` is left out on purpose: `vpc.endpoints` covers S3 with a
//! gateway endpoint. New services are added here.
//!
//! # Endpoint policies
//! Not every service takes an endpoint policy; one that does not allows full access through its
//! endpoints and takes none ("Control access to VPC endpoints using endpoint policies", AWS
//! PrivateLink Guide, <https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html>,
//! "View endpoint policy support"). The answer is per region, in `VpcEndpointPolicySupported` of
//! `ec2:DescribeVpcEndpointServices`, and `vpc.endpoints` reads it there rather than from a list. For
//! the default services of the baseline, as of this writing: `s3` (the gateway endpoint), `ssm`,
//! `ec2`, `kms`, `monitoring` and `logs` document endpoint policies in their service guides (each has
//! a "Create an endpoint policy" section); `ssmmessages` and `ec2messages`, the channels of Session
//! Manager and Run Command, document none, so where AWS answers `false` for them they keep AWS's open
//! policy and their endpoint security group is their only guard.

/// Short names of the AWS services that offer an interface endpoint.
pub const KNOWN: &[&str] = &[
    "access-analyzer", "account", "acm-pca", "airflow.api", "airflow.env", "airflow.ops", "analytics-omics",
    "app-integrations", "appconfig", "appconfigdata", "application-autoscaling", "appmesh",
    "appmesh-envoy-management", "apprunner", "apprunner.requests", "appstream.api", "appstream.streaming",
    "appsync-api", "aps", "aps-workspaces", "athena", "auditmanager", "autoscaling", "autoscaling-plans",
    "awsconnector", "b2bi", "backup", "backup-gateway", "batch", "bedrock", "bedrock-agent",
    "bedrock-agent-runtime", "bedrock-runtime", "billingconductor", "braket", "cases", "cassandra",
    "cassandra-fips", "cleanrooms", "cloudcontrolapi", "cloudcontrolapi-fips", "clouddirectory",
    "cloudformation", "cloudhsmv2", "cloudtrail", "codeartifact.api", "codeartifact.repositories",
    "codebuild", "codebuild-fips", "codecommit", "codecommit-fips", "codedeploy",
    "codedeploy-commands-secure", "codeguru-profiler", "codeguru-reviewer", "codepipeline",
    "codestar-connections.api", "codewhisperer", "comprehend", "comprehendmedical", "config",
    "connect-campaigns", "console", "control-storage-omics", "data-servicediscovery",
    "data-servicediscovery-fips", "databrew", "dataexchange", "datasync", "datazone", "deviceadvisor.iot",
    "devops-guru", "dms", "dms-fips", "drs", "ds", "dynamodb", "ebs", "ec2", "ec2messages", "ecr.api",
    "ecr.dkr", "ecs", "ecs-agent", "ecs-telemetry", "eks", "eks-auth", "elastic-inference.runtime",
    "elasticache", "elasticache-fips", "elasticbeanstalk", "elasticbeanstalk-health", "elasticfilesystem",
    "elasticfilesystem-fips", "elasticloadbalancing", "elasticmapreduce", "email-smtp", "emr-containers",
    "emr-serverless", "emrwal.prod", "entityresolution", "events", "evidently", "evidently-dataplane",
    "execute-api", "finspace", "finspace-api", "fis", "forecast", "forecast-fips", "forecastquery",
    "forecastquery-fips", "frauddetector", "fsx", "fsx-fips", "git-codecommit", "git-codecommit-fips",
    "glue", "grafana", "grafana-workspace", "greengrass", "groundstation", "guardduty-data",
    "guardduty-data-fips", "healthlake", "identitystore", "imagebuilder", "inspector2", "iot.credentials",
    "iot.data", "iot.fleethub.api", "iotfleetwise", "iotroborunner", "iotsitewise.api", "iotsitewise.data",
    "iottwinmaker.api", "iottwinmaker.data", "iotwireless.api", "kendra", "kinesis-firehose",
    "kinesis-streams", "kms", "kms-fips", "lakeformation", "lambda", "license-manager",
    "license-manager-fips", "license-manager-user-subscriptions", "logs", "lookoutequipment",
    "lookoutmetrics", "lookoutvision", "lorawan.cups", "lorawan.lns", "m2", "macie2",
    "managedblockchain-query", "managedblockchain.bitcoin.mainnet", "managedblockchain.bitcoin.testnet",
    "mediaconnect", "medical-imaging", "memory-db", "memorydb-fips", "mgn", "migrationhub-orchestrator",
    "models-v2-lex", "monitoring", "neptune-graph", "networkmonitor", "nimble", "organizations",
    "organizations-fips", "payment-cryptography.controlplane", "payment-cryptography.dataplane",
    "pca-connector-ad", "personalize", "personalize-events", "personalize-runtime", "pinpoint",
    "pinpoint-sms-voice-v2", "polly", "private-networks", "profile", "proton", "rds", "rds-data", "redshift",
    "redshift-data", "redshift-fips", "refactor-spaces", "rekognition", "rekognition-fips", "rolesanywhere",
    "rum", "rum-dataplane", "runtime-medical-imaging", "runtime-v2-lex", "s3-outposts", "s3express",
    "sagemaker.api", "sagemaker.featurestore-runtime", "sagemaker.metrics", "sagemaker.runtime",
    "sagemaker.runtime-fips", "scn", "secretsmanager", "securityhub", "servicecatalog",
    "servicecatalog-appregistry", "servicediscovery", "servicediscovery-fips", "signin", "simspaceweaver",
    "snow-device-management", "sns", "sqs", "ssm", "ssm-contacts", "ssm-incidents", "ssmmessages", "states",
    "storage-omics", "storagegateway", "streaming-rekognition", "streaming-rekognition-fips", "sts", "swf",
    "swf-fips", "sync-states", "synthetics", "tags-omics", "textract", "textract-fips", "thinclient.api",
    "timestream-influxdb", "tnb", "transcribe", "transcribestreaming", "transfer", "transfer.server",
    "translate", "trustedadvisor", "verifiedpermissions", "voiceid", "vpc-lattice", "wisdom",
    "workflows-omics", "workspaces", "xray",
];
