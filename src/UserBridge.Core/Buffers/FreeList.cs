namespace UserBridge.Core.Buffers;

/// <summary>
/// The free buffers of a pool, which forgets those it did not need for a whole trim period: the fewest it held since
/// the last <see cref="TrimIdle"/> were never taken in that time, so they go. A pool sized by a burst (500 connections
/// that came and left) shrinks back within two periods, while one that serves a VM reconnecting every few seconds keeps
/// what that VM takes each time. Not thread-safe: its pool's lock guards it.
/// </summary>
internal sealed class FreeList<T>
    where T : class
{
    private readonly Stack<T> _items = new();
    private int _fewestSinceTrim;

    public int Count => _items.Count;

    public void Push(T item) => _items.Push(item);

    public bool TryPop(out T item)
    {
        if (!_items.TryPop(out var popped))
        {
            item = null!;
            return false;
        }

        item = popped;
        _fewestSinceTrim = Math.Min(_fewestSinceTrim, _items.Count);
        return true;
    }

    /// <summary>Removes the items that sat unused through the period since the last call, handing each to <paramref name="drop"/>.</summary>
    public void TrimIdle(Action<T> drop)
    {
        for (var idle = Math.Min(_fewestSinceTrim, _items.Count); idle > 0; idle--)
        {
            drop(_items.Pop());
        }

        _fewestSinceTrim = _items.Count;
    }
}
