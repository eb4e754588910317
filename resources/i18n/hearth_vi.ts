<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="vi_VN">
<context>
    <name>SettingsPage</name>
    <message>
        <source>Models</source>
        <translation>Mô hình</translation>
    </message>
    <message>
        <source>Loading</source>
        <translation>Nạp mô hình</translation>
    </message>
    <message>
        <source>Replies</source>
        <translation>Câu trả lời</translation>
    </message>
    <message>
        <source>Claude</source>
        <translation>Claude</translation>
    </message>
    <message>
        <source>Appearance</source>
        <translation>Giao diện</translation>
    </message>
    <message>
        <source>Quantization</source>
        <translation>Lượng tử hóa</translation>
    </message>
    <message>
        <source>GPU layers</source>
        <translation>Số lớp trên GPU</translation>
    </message>
    <message>
        <source>Context length</source>
        <translation>Độ dài ngữ cảnh</translation>
    </message>
    <message>
        <source>Threads</source>
        <translation>Số luồng</translation>
    </message>
    <message>
        <source>Batch size</source>
        <translation>Kích thước lô</translation>
    </message>
    <message>
        <source>Flash attention</source>
        <translation>Flash attention</translation>
    </message>
    <message>
        <source>KV-cache type</source>
        <translation>Kiểu bộ nhớ đệm KV</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>Nhiệt độ</translation>
    </message>
    <message>
        <source>Top-p</source>
        <translation>Top-p</translation>
    </message>
    <message>
        <source>Top-k</source>
        <translation>Top-k</translation>
    </message>
    <message>
        <source>Min-p</source>
        <translation>Min-p</translation>
    </message>
    <message>
        <source>Repeat penalty</source>
        <translation>Phạt lặp từ</translation>
    </message>
    <message>
        <source>Max tokens</source>
        <translation>Số token tối đa</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>Hạt giống ngẫu nhiên</translation>
    </message>
    <message>
        <source>System prompt</source>
        <translation>Lời nhắc hệ thống</translation>
    </message>
    <message>
        <source>Theme</source>
        <translation>Chủ đề màu</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Ngôn ngữ</translation>
    </message>
    <message>
        <source>Models folder</source>
        <translation>Thư mục mô hình</translation>
    </message>
    <message>
        <source>Offline mode</source>
        <translation>Chế độ ngoại tuyến</translation>
    </message>
    <message>
        <source>Use Claude</source>
        <translation>Dùng Claude</translation>
    </message>
    <message>
        <source>Claude model</source>
        <translation>Mô hình Claude</translation>
    </message>
    <message>
        <source>Routing</source>
        <translation>Nơi trả lời</translation>
    </message>
    <message>
        <source>Document chunk size</source>
        <translation>Cỡ đoạn tài liệu</translation>
    </message>
    <message>
        <source>Document chunk overlap</source>
        <translation>Phần chồng lấn giữa các đoạn</translation>
    </message>
    <message>
        <source>Embedding model</source>
        <translation>Mô hình nhúng</translation>
    </message>
    <message>
        <source>Largest document (MB)</source>
        <translation>Tài liệu lớn nhất (MB)</translation>
    </message>
    <message>
        <source>Most text per document</source>
        <translation>Lượng chữ tối đa mỗi tài liệu</translation>
    </message>
    <message>
        <source>Server address</source>
        <translation>Địa chỉ máy chủ</translation>
    </message>
    <message>
        <source>Server port</source>
        <translation>Cổng máy chủ</translation>
    </message>
    <message>
        <source>Allowed web pages</source>
        <translation>Trang web được phép</translation>
    </message>
    <message>
        <source>Log prompts and replies</source>
        <translation>Ghi lời nhắc và câu trả lời vào nhật ký</translation>
    </message>
    <message>
        <source>Server queue</source>
        <translation>Hàng đợi máy chủ</translation>
    </message>
    <message>
        <source>Server&apos;s longest reply</source>
        <translation>Câu trả lời dài nhất của máy chủ</translation>
    </message>
    <message>
        <source>Follow the system</source>
        <translation>Theo hệ thống</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>Sáng</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>Tối</translation>
    </message>
    <message>
        <source>Local model only</source>
        <translation>Chỉ mô hình trên máy</translation>
    </message>
    <message>
        <source>Ask each time (local or Claude)</source>
        <translation>Hỏi mỗi lần (trên máy hay Claude)</translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation>Tự động</translation>
    </message>
    <message>
        <source>Revert</source>
        <translation>Hoàn tác</translation>
    </message>
    <message>
        <source>Apply</source>
        <translation>Áp dụng</translation>
    </message>
    <message>
        <source>Advanced</source>
        <translation>Nâng cao</translation>
    </message>
    <message>
        <source>Show the options most people never need to change.</source>
        <translation>Hiện các tùy chọn mà hầu hết mọi người không bao giờ cần đổi.</translation>
    </message>
    <message>
        <source>Set API key…</source>
        <translation>Đặt khóa API…</translation>
    </message>
    <message>
        <source>Test key</source>
        <translation>Kiểm tra khóa</translation>
    </message>
    <message>
        <source>Forget key</source>
        <translation>Quên khóa</translation>
    </message>
    <message>
        <source>A new language shows the next time Hearth starts.</source>
        <translation>Ngôn ngữ mới sẽ hiển thị từ lần khởi động Hearth tiếp theo.</translation>
    </message>
</context>
</TS>
