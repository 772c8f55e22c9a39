"""The inbound (mail provider notification) endpoint a tenant subscribes its SNS topic to."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

TOPIC_ARN = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$"


class InboundEndpointRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic_arn: str = Field(pattern=TOPIC_ARN, description="The SNS topic SES publishes bounces and complaints to.")


class InboundEndpoint(BaseModel):
    url: str = Field(description="Subscribe it to the topic (protocol HTTPS); only that topic's signed messages are taken.")
    topic_arn: str
