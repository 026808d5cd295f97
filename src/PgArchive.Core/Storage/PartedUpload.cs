using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace PgArchive.Storage;

/// <summary>
/// The upload loop of a store that takes large objects in parts (S3 multipart parts, Swift SLO segments): fills
/// part buffers from the content and uploads up to a fixed number of them at once, then completes the object.
/// Memory stays at that number of buffers whatever the object's size.
/// </summary>
/// <remarks>
/// When a part fails, reading stops but the parts already in flight are left to finish (unless the caller cancels),
/// so that the store's clean-up comes after them: a part still arriving after an abort may otherwise be kept, or
/// crash a server that writes it into an upload that is gone. The failure reported is the part's own, not the
/// cancellation of the loop it caused.
/// </remarks>
/// <typeparam name="TPart">What the store keeps of an uploaded part to complete the object (an ETag, a segment path).</typeparam>
internal sealed class PartedUpload<TPart>
{
    /// <summary>Uploads one part: its zero-based index, the buffer and the number of its bytes to send.</summary>
    public required Func<int, byte[], int, CancellationToken, Task<TPart>> UploadPartAsync { get; init; }

    /// <summary>Makes the object of the parts, in order, once every part is stored.</summary>
    public required Func<TPart[], CancellationToken, Task> CompleteAsync { get; init; }

    /// <summary>Undoes a failed upload (aborts it, deletes its parts), given the parts confirmed so far; runs uncancelled.</summary>
    public required Func<IReadOnlyList<TPart>, Task> CleanUpAsync { get; init; }

    /// <summary>Part buffers; every buffer of the pool's size.</summary>
    public required PartBufferPool Buffers { get; init; }

    /// <summary>Parts in memory at once (at least 1).</summary>
    public required int MaxPartsInFlight { get; init; }

    /// <summary>The most parts an object may have.</summary>
    public required int MaxParts { get; init; }

    /// <summary>The error when the content does not fit in <see cref="MaxParts"/> parts.</summary>
    public required Func<Exception> TooLarge { get; init; }

    /// <summary>
    /// Uploads <paramref name="first"/> (a full buffer already read, which stays the caller's) and the rest of
    /// <paramref name="content"/>, and returns the number of bytes stored and the parts, in order.
    /// </summary>
    public async Task<(long Bytes, TPart[] Parts)> RunAsync(byte[] first, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(content);
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var free = Channel.CreateUnbounded<byte[]>();
        var rented = new List<byte[]>();
        var uploads = new List<Task<TPart>>();
        long total = 0;
        try
        {
            var buffer = first;
            var length = first.Length;
            while (true)
            {
                uploads.Add(UploadOneAsync(uploads.Count, buffer, length, free.Writer, failed, cancellationToken));
                total += length;
                if (length < buffer.Length)
                {
                    break;
                }

                if (uploads.Count == MaxParts)
                {
                    throw TooLarge();
                }

                if (rented.Count + 1 < MaxPartsInFlight)
                {
                    buffer = Buffers.Rent();
                    rented.Add(buffer);
                }
                else
                {
                    buffer = await free.Reader.ReadAsync(failed.Token).ConfigureAwait(false);
                }

                length = await content.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, failed.Token).ConfigureAwait(false);
                if (length == 0)
                {
                    break;
                }
            }

            var parts = await Task.WhenAll(uploads).ConfigureAwait(false);
            await CompleteAsync(parts, cancellationToken).ConfigureAwait(false);
            return (total, parts);
        }
        catch (Exception ex)
        {
            await failed.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(uploads).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Reported below.
            }

            var error = ex;
            if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested
                && uploads.Select(u => u.Exception?.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException) is { } partFailure)
            {
                error = partFailure;
            }

            await CleanUpAsync(uploads.Where(u => u.IsCompletedSuccessfully).Select(u => u.Result).ToList()).ConfigureAwait(false);
            ExceptionDispatchInfo.Throw(error);
            throw; // not reached: Throw rethrows the error
        }
        finally
        {
            foreach (var buffer in rented)
            {
                Buffers.Return(buffer);
            }
        }
    }

    private async Task<TPart> UploadOneAsync(int index, byte[] buffer, int length, ChannelWriter<byte[]> free, CancellationTokenSource failed,
        CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            return await UploadPartAsync(index, buffer, length, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await failed.CancelAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            free.TryWrite(buffer);
        }
    }
}
