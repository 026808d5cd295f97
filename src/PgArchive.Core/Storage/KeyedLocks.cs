namespace PgArchive.Storage;

/// <summary>Per-key async locks for check-then-put; entries live while someone holds or waits for them.</summary>
internal sealed class KeyedLocks
{
    private readonly Dictionary<string, (SemaphoreSlim Semaphore, int Users)> _locks = new(StringComparer.Ordinal);

    public async Task<IDisposable> LockAsync(string key, CancellationToken cancellationToken)
    {
        SemaphoreSlim semaphore;
        lock (_locks)
        {
            var entry = _locks.TryGetValue(key, out var existing) ? existing : (new SemaphoreSlim(1, 1), 0);
            _locks[key] = (entry.Item1, entry.Item2 + 1);
            semaphore = entry.Item1;
        }

        try
        {
            await semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Leave(key, release: false);
            throw;
        }

        return new Releaser(this, key);
    }

    private void Leave(string key, bool release)
    {
        lock (_locks)
        {
            var (semaphore, users) = _locks[key];
            if (release)
            {
                semaphore.Release();
            }

            if (users == 1)
            {
                _locks.Remove(key);
                semaphore.Dispose();
            }
            else
            {
                _locks[key] = (semaphore, users - 1);
            }
        }
    }

    private sealed class Releaser(KeyedLocks owner, string key) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Leave(key, release: true);
            }
        }
    }
}
