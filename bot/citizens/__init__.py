"""A citizen's rights over their own data: export (/mydata, `citizens export`)."""
