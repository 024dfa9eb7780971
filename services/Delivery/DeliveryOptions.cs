using System.ComponentModel.DataAnnotations;

namespace ChatPlatform.Delivery;

/// <summary>Section "Delivery".</summary>
public sealed class DeliveryOptions
{
    public const string Section = "Delivery";

    /// <summary>Largest (and default) history page. Default 500.</summary>
    [Range(1, 5000)]
    public int HistoryPageSize { get; set; } = 500;
}
