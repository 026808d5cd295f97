using System.IO.Pipelines;
using System.Runtime.ExceptionServices;

namespace PgArchive.Storage;

/// <summary>
/// Turns a writer (tar, compressor, encryptor pushing bytes) into the stream a store pulls from, through a
/// bounded pipe: memory stays at a few MiB whatever the object's size, and if the writer fails the store
/// sees the failure and stores nothing.
/// </summary>
internal static class StreamingUpload
{
    private static readonly PipeOptions Options = new(
        pauseWriterThreshold: 8 << 20, resumeWriterThreshold: 4 << 20, minimumSegmentSize: 64 << 10, useSynchronizationContext: false);

    /// <summary>
    /// Runs <paramref name="writeContent"/> against a stream whose bytes are stored under <paramref name="key"/>.
    /// Returns the number of bytes stored.
    /// </summary>
    public static async Task<long> PutAsync(IObjectStore store, string key, PutMode mode,
        Func<Stream, CancellationToken, Task> writeContent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(writeContent);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pipe = new Pipe(Options);
        long stored = 0;

        var consumer = Task.Run(async () =>
        {
            var reader = IO.PassThroughStream.Wrap(pipe.Reader.AsStream());
            try
            {
                await store.PutAsync(key, reader, mode, linked.Token).ConfigureAwait(false);
                stored = reader.BytesTransferred;
            }
            catch
            {
                await linked.CancelAsync().ConfigureAwait(false);
                throw;
            }
            finally
            {
                await reader.DisposeAsync().ConfigureAwait(false);
            }
        }, CancellationToken.None);

        Exception? producerError = null;
        try
        {
            var writer = pipe.Writer.AsStream(leaveOpen: true);
            await using (writer.ConfigureAwait(false))
            {
                await writeContent(writer, linked.Token).ConfigureAwait(false);
            }

            await pipe.Writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            producerError = ex;
            await pipe.Writer.CompleteAsync(ex).ConfigureAwait(false);
        }

        try
        {
            await consumer.ConfigureAwait(false);
        }
        catch (Exception) when (producerError is not null and not OperationCanceledException)
        {
            // The store failed because the content did: report the content's failure.
        }

        if (producerError is not null)
        {
            ExceptionDispatchInfo.Throw(producerError);
        }

        return stored;
    }
}
