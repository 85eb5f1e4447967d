"""The ownership judge: CODEOWNERS with GitHub's semantics, plan-to-owner mapping, which
reviews approve, one Decision. Pure: the flow reads the file, git and GitHub."""
