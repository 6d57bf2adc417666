"""The team dashboard: where the campaigns, posts, money and to-dos stand, in four queries.

Reads only (no table of its own); members and up. Money is per currency, over every campaign
that is not archived:
- `budget`: the sum of the campaigns' budgets;
- `committed`: the agreed fees of every creator booked on them;
- `spent`: the agreed fees of the booked creators who have at least one published post on
  that campaign (a creator is paid once per campaign, when their content is live);
- `remaining`: budget minus committed (negative when over-committed).
A to-do is overdue when it is not done and its due date is before today (UTC).
"""
