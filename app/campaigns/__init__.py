"""Campaigns, the creators on them, and which campaigns a guest may see.

Tables:
- `campaigns` (team-scoped; its own policy also hides campaigns outside a guest's list).
  `UNIQUE (id, team_id)` is the target of every campaign-scoped table's composite foreign key,
  so a post or to-do can never point at another team's campaign. Deleting a campaign deletes
  its campaign creators, posts, to-dos and guest grants (FK cascade); never a creator or brand.
- `campaign_creators` (campaign-scoped): a creator booked on a campaign with the agreed fee
  (in the campaign's currency) and deliverables. Removing one never deletes the creator.
- `campaign_guest_access` (team-scoped): the campaigns each guest may read.

Members read, create and edit; admins delete campaigns and manage guest access. Guests read
the campaigns they are granted (and their creators, posts and to-dos), nothing else.
Status moves along `CAMPAIGN_TRANSITIONS` (app/campaigns/services.py); an illegal move is a 409.
"""
