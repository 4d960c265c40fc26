"""Running a flow in a test: the result and every event the run yielded."""

from plait.runtime.engine.scheduler import RunOptions


def run(loop, engine, flow, params=None, **options):
    async def go():
        handle = engine.start(flow, params, RunOptions(**options))
        seen = [e async for e in handle.events()]
        return await handle.wait(), seen

    return loop.run_until_complete(go())
