"""Facts about the Tencent Meeting platform that several layers share; no imports, so anything may use it."""

# The platform's own zone: its calendar days (the daily quota, the day an API call counts against)
# and the default business-date zone of an account (TMEET_TIMEZONE overrides the latter).
PLATFORM_TIMEZONE = "Asia/Shanghai"
