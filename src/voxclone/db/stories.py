"""Queries on stories, their tracks and their clips; always within one key's stories."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voxclone.db.tables import Story, StoryClip, StoryTrack


async def get_story(session: AsyncSession, *, story_id: str, key_id: str) -> Story | None:
    story = await session.get(Story, story_id, populate_existing=True)
    if story is None or story.key_id != key_id:
        return None
    return story


async def list_stories(
    session: AsyncSession, *, key_id: str, limit: int = 100, offset: int = 0
) -> list[Story]:
    query = (
        select(Story)
        .where(Story.key_id == key_id)
        .order_by(Story.created_at.desc(), Story.id)
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(query)).scalars())


async def list_tracks(session: AsyncSession, *, story_id: str) -> list[StoryTrack]:
    query = (
        select(StoryTrack)
        .where(StoryTrack.story_id == story_id)
        .order_by(StoryTrack.position, StoryTrack.created_at, StoryTrack.id)
    )
    return list((await session.execute(query)).scalars())


async def get_track(session: AsyncSession, *, story_id: str, track_id: str) -> StoryTrack | None:
    track = await session.get(StoryTrack, track_id, populate_existing=True)
    if track is None or track.story_id != story_id:
        return None
    return track


async def list_clips(session: AsyncSession, *, story_id: str) -> list[StoryClip]:
    """The story's clips, in time order."""
    query = (
        select(StoryClip)
        .join(StoryTrack, StoryTrack.id == StoryClip.track_id)
        .where(StoryTrack.story_id == story_id)
        .order_by(StoryClip.start_s, StoryClip.created_at, StoryClip.id)
    )
    return list((await session.execute(query)).scalars())


async def get_clip(session: AsyncSession, *, story_id: str, clip_id: str) -> StoryClip | None:
    query = (
        select(StoryClip)
        .join(StoryTrack, StoryTrack.id == StoryClip.track_id)
        .where(StoryClip.id == clip_id, StoryTrack.story_id == story_id)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def count_clips(session: AsyncSession, *, story_id: str) -> int:
    query = (
        select(func.count())
        .select_from(StoryClip)
        .join(StoryTrack, StoryTrack.id == StoryClip.track_id)
        .where(StoryTrack.story_id == story_id)
    )
    return int((await session.execute(query)).scalar_one())


async def delete_clips(session: AsyncSession, *, clip_ids: Sequence[str]) -> None:
    if clip_ids:
        await session.execute(delete(StoryClip).where(StoryClip.id.in_(list(clip_ids))))


async def delete_track(session: AsyncSession, *, track: StoryTrack) -> None:
    """The track and its clips (explicitly: not every database cascades)."""
    await session.execute(delete(StoryClip).where(StoryClip.track_id == track.id))
    await session.delete(track)


async def delete_story(session: AsyncSession, *, story: Story) -> None:
    tracks = select(StoryTrack.id).where(StoryTrack.story_id == story.id)
    await session.execute(delete(StoryClip).where(StoryClip.track_id.in_(tracks)))
    await session.execute(delete(StoryTrack).where(StoryTrack.story_id == story.id))
    await session.delete(story)


async def history_ids_in_use(session: AsyncSession, *, key_id: str) -> set[str]:
    """History items the key's stories use (the history sweeper keeps their audio)."""
    query = (
        select(StoryClip.history_id)
        .join(StoryTrack, StoryTrack.id == StoryClip.track_id)
        .join(Story, Story.id == StoryTrack.story_id)
        .where(Story.key_id == key_id, StoryClip.history_id.is_not(None))
    )
    return {value for value in (await session.execute(query)).scalars() if value}
