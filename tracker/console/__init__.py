"""The operations console (运营控制台): server-rendered pages for adjudicators and operators."""
