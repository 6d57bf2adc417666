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
Status moves along `CAMPAIGN_TRANSITIONS` (app/campaigns/rules.py); an illegal move is a 409.

Finished campaigns take no new work. For its posts, to-dos and creator bookings a campaign's
status means:
- draft, active, paused: anything goes (subject to the usual rules).
- completed: nothing new is added (create is a 409); existing ones may still be updated and
  removed, e.g. to record a published post's metrics or close the last to-dos.
- archived: read-only; adding, updating or removing any of them is a 409.
The 409's detail names the status and what to do; `campaign_status` carries it for clients.
Neither status can go back to active, so the way out is another campaign. The check is one
helper, `ensure_campaign_accepts` (app/campaigns/rules.py), called by the posts, to-dos and
bookings services; the status comes from a lookup those services already make (the campaign on
create, joined to the item on update/delete), share-locked so it cannot change under the write.
Reads are unaffected, and so is the campaign record itself (editing its own fields, its guest
access, an admin deleting it with everything in it), whatever its status.
"""
