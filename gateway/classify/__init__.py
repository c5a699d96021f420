"""Topic classification with reasons: which topic a message is about, and why.

``classify(msg, channel=..., form=..., rules=load_rules())`` returns a ``Classification``
(topic, secondary topics, reasons, acknowledge). The rules are data in queue/rules/*.toml.
"""

from gateway.classify.decide import TOPICS, Classification, RuleSet, classify, load_rules

__all__ = ["TOPICS", "Classification", "RuleSet", "classify", "load_rules"]
