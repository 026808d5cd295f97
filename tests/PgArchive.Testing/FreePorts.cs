using System.Net;
using System.Net.Sockets;

namespace PgArchive.Storage.Testing;

/// <summary>Loopback ports nobody listens on, so parallel agents and test runs don't collide on the recipes' defaults.</summary>
public static class FreePorts
{
    /// <summary>The first of <paramref name="count"/> consecutive free ports.</summary>
    public static int FindBlock(int count)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            int first;
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                first = ((IPEndPoint)probe.LocalEndpoint).Port;
            }

            if (first + count > 65535)
            {
                continue;
            }

            if (Enumerable.Range(first, count).All(IsFree))
            {
                return first;
            }
        }

        throw new InvalidOperationException($"No block of {count} free loopback ports found.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
